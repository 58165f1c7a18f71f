// Package e2e drives the real chatd binary with headless Chromium: the visitor
// widget on the demo page and on a foreign site, and the agent portal, through
// reloads, several tabs, server restarts and outages. It also checks the
// widget's size budget. The package holds tests only.
package e2e
