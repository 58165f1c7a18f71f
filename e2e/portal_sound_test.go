package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// audioTap records the page's audio: window.__audio holds its AudioContexts and
// window.__beeps counts tones started while their context was running (audible).
const audioTap = `(() => {
  const AC = window.AudioContext;
  window.__audio = [];
  window.__beeps = 0;
  window.AudioContext = class extends AC {
    constructor(...a) { super(...a); window.__audio.push(this); }
  };
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) {
    if (this.context.state === 'running') window.__beeps++;
    return start.apply(this, a);
  };
})()`

// With "Sound" ticked, a reload leaves the browser's audio locked until the
// agent interacts with the page (the autoplay policy real browsers apply): the
// portal says so plainly, and the first click anywhere turns the sound on.
func TestPortalSoundAfterReload(t *testing.T) {
	s := startServer(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	// The policy Chrome applies to a site the user has not engaged with yet
	// (headless Chromium would otherwise let any page play sound).
	browser := newBrowser(t, chromedp.Flag("autoplay-policy", "document-user-activation-required"))
	agent := newTabInWindow(t, browser)
	bringToFront(t, agent)
	addScript(t, agent, audioTap)
	portalLogin(t, agent, s, true)
	run(t, agent, chromedp.Click(chromedp.ID("sound")))
	waitFor(t, agent, "sound on after ticking the box", `window.__audio.length === 1 && window.__audio[0].state === 'running' && document.getElementById('sound-note').hidden`)

	run(t, agent, chromedp.Reload())
	waitPortalConnected(t, agent)
	waitFor(t, agent, "the box still ticked and the plain notice", `document.getElementById('sound').checked && !document.getElementById('sound-note').hidden &&
		document.getElementById('sound-note').textContent === 'Click anywhere to enable sound' && window.__audio[0].state !== 'running'`)
	checkLayout(t, agent, "the bar with the sound notice", "#sound-note", "#logout")

	// Hidden and still locked: the title counts, the notice stays, no sound can play.
	other := newTabInWindow(t, browser)
	bringToFront(t, other)
	waitFor(t, agent, "the portal hidden", `document.hidden`)
	ann.send("a message nobody hears")
	waitFor(t, agent, "the count in the title", `document.title.startsWith('(1) ')`)
	if n := evalJS[int](t, agent, `window.__beeps`); n != 0 {
		t.Fatalf("%d tone(s) played while the audio was locked", n)
	}

	// One click anywhere unlocks the audio; the next hidden message is heard.
	bringToFront(t, agent)
	run(t, agent, chromedp.Click(chromedp.ID("placeholder")))
	waitFor(t, agent, "the notice gone and the audio running", `document.getElementById('sound-note').hidden && window.__audio[0].state === 'running'`)
	bringToFront(t, other)
	waitFor(t, agent, "the portal hidden again", `document.hidden`)
	ann.send("a message the agent hears")
	waitFor(t, agent, "a tone for the hidden message", `window.__beeps === 1`)

	// Unticked: no notice, no tone.
	bringToFront(t, agent)
	run(t, agent, chromedp.Click(chromedp.ID("sound")))
	waitFor(t, agent, "the box unticked", `!document.getElementById('sound').checked && document.getElementById('sound-note').hidden`)
	bringToFront(t, other)
	waitFor(t, agent, "the portal hidden a third time", `document.hidden`)
	ann.send("a message with the sound off")
	waitFor(t, agent, "the title counting it", `document.title.startsWith('(1) ')`)
	if n := evalJS[int](t, agent, `window.__beeps`); n != 1 {
		t.Errorf("%d tones in all, want 1 (none with the sound off)", n)
	}
}
