package server

import (
	stdlog "log"
	"strings"

	"github.com/rs/zerolog"
)

// newStdLog routes net/http's own error lines (TLS noise, panics) to zerolog at debug/warn.
func newStdLog(log zerolog.Logger) *stdlog.Logger {
	return stdlog.New(httpErrorWriter{log}, "", 0)
}

type httpErrorWriter struct{ log zerolog.Logger }

func (w httpErrorWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "panic") {
		w.log.Error().Str("source", "net/http").Msg(msg)
	} else {
		w.log.Debug().Str("source", "net/http").Msg(msg)
	}
	return len(p), nil
}
