package mail

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/notify"
)

// Channel is the metrics label of this package.
const Channel = "email"

// MailerConfig configures a Mailer. Zero values take the defaults given.
type MailerConfig struct {
	// QueueSize is how many mails may wait (default 256); beyond it Send drops.
	QueueSize int
	// Workers send concurrently (default 2).
	Workers int
	// Backoff bounds retries (default 5 attempts, 10s doubling to 5m: about
	// 2.5 minutes of retries for a server that is down).
	Backoff notify.Backoff
	Metrics notify.Metrics
	Logger  zerolog.Logger
	// OnDone, optional, is told how each mail ended (nil error: the server
	// accepted it). Must not block.
	OnDone func(m Message, attempts int, err error)
}

// Mailer sends Messages through a Transport from a bounded queue, retrying
// with backoff. Send never blocks.
type Mailer struct {
	q       *notify.Queue[Message]
	metrics notify.Metrics
}

// NewMailer returns a Mailer over t; call Run to start sending.
func NewMailer(t Transport, cfg MailerConfig) *Mailer {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Backoff == (notify.Backoff{}) {
		cfg.Backoff = notify.Backoff{Attempts: 5, Initial: 10 * time.Second, Max: 5 * time.Minute}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = notify.Nop{}
	}
	h := func(ctx context.Context, m Message, attempt int) error { return t.Send(ctx, m) }
	var done notify.Done[Message]
	if cfg.OnDone != nil {
		done = func(m Message, attempts int, err error) { cfg.OnDone(m, attempts, err) }
	}
	return &Mailer{metrics: cfg.Metrics, q: notify.NewQueue(notify.QueueConfig{
		Channel: Channel, Size: cfg.QueueSize, Workers: cfg.Workers, Backoff: cfg.Backoff,
		Metrics: cfg.Metrics, Logger: cfg.Logger, // the queue names the channel itself
	}, h, done)}
}

// Send queues m; false when it was dropped (queue full or stopped), which
// is counted and logged.
func (ml *Mailer) Send(m Message) bool { return ml.q.Offer(m) }

// Run sends until ctx is done and returns when the workers have stopped.
func (ml *Mailer) Run(ctx context.Context) { ml.q.Run(ctx) }
