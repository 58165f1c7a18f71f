// Package deploy holds chatd's deployment files (systemd unit, docker compose
// file) and a test that checks the repository's Dockerfile without a Docker
// engine: it runs the Dockerfile's exact go build line, checks the binary is
// static, and runs its healthcheck against a live and a stopped server.
package deploy
