package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rssKiB reads VmRSS of process pid ("self" for this tool) from /proc.
func rssKiB(pid string) (int64, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0, fmt.Errorf("read rss of %s: %w", pid, err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS of %s: %w", pid, err)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%s/status", pid)
}

// cpuTime is the user+system CPU time used so far by process pid.
func cpuTime(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read cpu of %s: %w", pid, err)
	}
	// fields after the command name, which is in parentheses and may hold spaces
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%s/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%s/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%s/stat times", pid)
	}
	const clkTck = 100 // USER_HZ on every Linux architecture Go supports
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// serverPID is pid as /proc names it, or "" when the server's pid is not
// known (pid <= 0).
func serverPID(pid int) string {
	if pid > 0 {
		return strconv.Itoa(pid)
	}
	return ""
}

// cpuMeter measures the CPU used by the server (when pid is set) and this tool
// between start and stop, in cores (1.0 = one core busy).
type cpuMeter struct {
	pid          string
	t0           time.Time
	srv0, self0  time.Duration
	Server, Tool float64
}

func startCPU(pid string) *cpuMeter {
	m := &cpuMeter{pid: pid, t0: time.Now()}
	if pid != "" {
		m.srv0, _ = cpuTime(pid)
	}
	m.self0, _ = cpuTime("self")
	return m
}

func (m *cpuMeter) stop() {
	el := time.Since(m.t0).Seconds()
	if el <= 0 {
		return
	}
	if m.pid != "" {
		if t, err := cpuTime(m.pid); err == nil {
			m.Server = round2((t - m.srv0).Seconds() / el)
		}
	}
	if t, err := cpuTime("self"); err == nil {
		m.Tool = round2((t - m.self0).Seconds() / el)
	}
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// Host describes the machine the run shared with chatd: other load on it
// changes every figure, so reports carry it.
type Host struct {
	CPUs    int    `json:"cpus"`
	LoadAvg string `json:"loadavg"` // 1, 5 and 15 minute load averages at the end of the run
}

func hostInfo() Host {
	h := Host{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			h.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return h
}

func (h Host) row() [2]string {
	return [2]string{"host cpus / loadavg", fmt.Sprintf("%d / %s", h.CPUs, h.LoadAvg)}
}

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit so one process
// can hold thousands of sockets; it returns the resulting soft limit.
func raiseNoFile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("get RLIMIT_NOFILE: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", l.Max, err)
		}
	}
	return l.Cur, nil
}
