// The arena without page reloads: vote by click or key, reveal in place, and swap in
// the next matchup whose images were fetched while the voter read the reveal.
// Without this script the same page works as a plain form and links.
(function () {
  "use strict";

  const root = document.getElementById("arena");
  if (!root) return;
  // The page shows its key hints only now that the keys work.
  root.classList.add("has-keyboard");

  // The category picker switches on change; its button is for browsers without JS.
  const picker = root.querySelector("select[data-autosubmit]");
  if (picker) {
    picker.addEventListener("change", () => picker.form.submit());
    const switchButton = picker.form.querySelector("[data-field=switch]");
    if (switchButton) switchButton.hidden = true;
  }

  const form = document.getElementById("vote-form");
  const nextLink = root.querySelector("[data-field=next]");
  if (!form) {
    // The reveal page: only the next-matchup shortcut.
    document.addEventListener("keydown", (event) => {
      if (nextLink && isShortcut(event) && (event.key === "n" || event.key === "N")) {
        window.location.assign(nextLink.href);
      }
    });
    return;
  }

  const field = (name, scope) => (scope || root).querySelector(`[data-field="${name}"]`);
  const status = field("status");
  const choices = field("choices");
  const revealBox = field("reveal");
  const voteButtons = Array.from(form.querySelectorAll("button[name=outcome]"));
  const KEYS = { 1: "a", 2: "b", 3: "tie", 4: "both_bad", ArrowLeft: "a", ArrowRight: "b" };

  let armed = 0; // bumps whenever a new matchup is shown, to ignore stale image events
  let nextMatchup = null; // a promise of the prefetched next matchup (or null)

  function setState(state) {
    root.dataset.state = state;
  }

  function setButtons(enabled) {
    voteButtons.forEach((button) => {
      button.disabled = !enabled;
    });
  }

  function isShortcut(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return false;
    const tag = event.target && event.target.tagName;
    return !(tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA");
  }

  function loaded(img) {
    return new Promise((resolve, reject) => {
      if (img.complete) {
        if (img.naturalWidth > 0) resolve();
        else reject(new Error("image failed"));
        return;
      }
      img.addEventListener("load", () => resolve(), { once: true });
      img.addEventListener("error", () => reject(new Error("image failed")), { once: true });
    });
  }

  // Votes on images nobody saw are noise: the buttons wait for both images.
  function armVoting() {
    const token = ++armed;
    setState("loading");
    setButtons(false);
    status.textContent = "Loading both images…";
    const images = Array.from(form.querySelectorAll(".slot img"));
    Promise.all(images.map(loaded)).then(
      () => {
        if (token !== armed) return;
        setButtons(true);
        status.textContent = "";
        setState("ready");
      },
      () => {
        if (token !== armed) return;
        status.textContent = "An image did not load. Try the next matchup.";
        setState("broken");
        choices.hidden = true;
        revealBox.hidden = false;
        field("verdict").textContent = "";
      }
    );
  }

  // A new voter identity pays once with a proof of work before its first vote: find
  // the n <= maxNumber with SHA-256(salt + n) == challenge (ALTCHA's challenge format,
  // https://altcha.org/docs/proof-of-work/), then post it to the server. It starts
  // when the page loads, so it is usually done before the voter has chosen.
  let proof = null;

  function proveIdentity() {
    if (!root.dataset.needsProof) return Promise.resolve();
    if (!proof) {
      proof = solveAndSend().then(
        () => {
          delete root.dataset.needsProof;
        },
        (error) => {
          proof = null;
          throw error;
        }
      );
    }
    return proof;
  }

  async function solveAndSend() {
    if (!(window.crypto && crypto.subtle)) {
      throw new Error("Voting needs a secure (HTTPS) connection for its browser check.");
    }
    const response = await fetch(root.dataset.challengeUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const challenge = response.ok ? (await response.json()).challenge : null;
    if (!response.ok) throw new Error("The voting check could not start. Reload the page.");
    if (!challenge) return; // already proven
    const number = await solve(challenge);
    const payload = {
      algorithm: challenge.algorithm,
      challenge: challenge.challenge,
      number: number,
      salt: challenge.salt,
      signature: challenge.signature,
    };
    const body = new FormData();
    body.set("altcha", btoa(JSON.stringify(payload)));
    const answer = await fetch(root.dataset.identityUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    if (!answer.ok) {
      const data = await answer.json().catch(() => null);
      throw new Error((data && data.message) || "The voting check failed. Reload the page.");
    }
  }

  async function solve(challenge) {
    const target = new Uint8Array(challenge.challenge.match(/../g).map((h) => parseInt(h, 16)));
    const encoder = new TextEncoder();
    const BATCH = 1000; // digests in flight at once: fewer round trips through the event loop
    for (let start = 0; start <= challenge.maxNumber; start += BATCH) {
      const numbers = [];
      for (let n = start; n < Math.min(start + BATCH, challenge.maxNumber + 1); n++) numbers.push(n);
      const digests = await Promise.all(
        numbers.map((n) => crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n)))
      );
      for (let i = 0; i < digests.length; i++) {
        const bytes = new Uint8Array(digests[i]);
        if (bytes[0] === target[0] && bytes.every((b, k) => b === target[k])) return numbers[i];
      }
    }
    throw new Error("The voting check found no answer. Reload the page.");
  }

  function csrfToken() {
    const input = form.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function castVote(outcome, isRetry) {
    if (root.dataset.state !== "ready" && !isRetry) return;
    setState("voting");
    setButtons(false);
    if (root.dataset.needsProof) {
      status.textContent = "Checking this browser before your first vote…";
      try {
        await proveIdentity();
      } catch (error) {
        status.textContent = error.message;
        setButtons(true);
        setState("ready");
        return;
      }
    }
    status.textContent = "Recording your vote…";
    const body = new FormData(form);
    body.set("outcome", outcome);
    let response;
    let data = null;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": body.get("csrfmiddlewaretoken") },
      });
      data = await response.json().catch(() => null);
    } catch (error) {
      status.textContent = "The network failed; your vote was not recorded. Try again.";
      setButtons(true);
      setState("ready");
      return;
    }
    if (!response.ok && data && data.error === "proof_required" && !isRetry) {
      root.dataset.needsProof = "1"; // the identity cookie was lost: prove again once
      castVote(outcome, true);
      return;
    }
    if (!response.ok) {
      status.textContent = (data && data.message) || `Your vote was not recorded (${response.status}).`;
      if (response.status === 429) {
        const wait = Number(response.headers.get("Retry-After") || 5);
        setTimeout(() => {
          setButtons(true);
          setState("ready");
          status.textContent = "";
        }, wait * 1000);
      } else {
        setState("broken");
        choices.hidden = true;
        revealBox.hidden = false;
        field("verdict").textContent = "";
        prefetchNext();
      }
      return;
    }
    showReveal(data.reveal, outcome);
    prefetchNext(data.next);
  }

  function showReveal(reveal, outcome) {
    reveal.slots.forEach((slot) => {
      const figure = form.querySelector(`.slot[data-slot="${slot.key}"]`);
      field("model", figure).textContent = slot.model;
      field("vendor", figure).textContent = slot.vendor;
      field("provider", figure).textContent = slot.provider;
      field("position", figure).textContent = slot.position;
      field("winner", figure).hidden = !slot.is_winner;
      field("revealed", figure).hidden = false;
      figure.classList.toggle("is-winner", slot.is_winner);
    });
    voteButtons.forEach((button) => button.classList.toggle("is-chosen", button.value === outcome));
    field("verdict").textContent = reveal.verdict;
    status.textContent = "";
    choices.hidden = true;
    revealBox.hidden = false;
    setState("revealed");
    nextLink.focus();
  }

  function preload(url) {
    const img = new Image();
    img.src = url;
    return img.decode ? img.decode() : loaded(img);
  }

  // The vote's answer carries the next matchup; its images load during the reveal.
  // Without one (say, over the serving limit) the script asks for it separately.
  function prefetchNext(upcoming) {
    const matchup = upcoming
      ? Promise.resolve(upcoming)
      : fetch(root.dataset.nextApi, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then((response) => (response.ok ? response.json() : null))
          .then((data) => data && data.matchup);
    nextMatchup = matchup
      .then((next) => {
        if (!next) return null;
        const urls = next.slots.concat(next.references).map((image) => image.image_url);
        // A failed preload still lets the matchup show; armVoting reports the image.
        return Promise.all(urls.map(preload)).then(
          () => next,
          () => next
        );
      })
      .catch(() => null);
  }

  function showMatchup(matchup) {
    field("prompt").textContent = matchup.prompt;
    field("title").textContent = matchup.title;
    field("category").textContent = matchup.category;
    const references = field("references");
    const list = field("reference-list");
    list.replaceChildren(
      ...matchup.references.map((ref) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = ref.image_url;
        link.target = "_blank";
        link.rel = "noopener";
        const img = document.createElement("img");
        img.src = ref.image_url;
        img.alt = ref.alt;
        link.append(img);
        item.append(link);
        return item;
      })
    );
    references.hidden = matchup.references.length === 0;
    form.action = matchup.vote_url;
    matchup.slots.forEach((slot) => {
      const figure = form.querySelector(`.slot[data-slot="${slot.key}"]`);
      const img = field("image", figure);
      img.width = slot.width;
      img.height = slot.height;
      img.src = slot.image_url;
      // The previous models' names must not linger into a blind matchup.
      ["model", "vendor", "provider", "position"].forEach((name) => {
        field(name, figure).textContent = "";
      });
      field("revealed", figure).hidden = true;
      field("winner", figure).hidden = true;
      figure.classList.remove("is-winner");
    });
    voteButtons.forEach((button) => button.classList.remove("is-chosen"));
    revealBox.hidden = true;
    choices.hidden = false;
    nextMatchup = null;
    armVoting();
    field("prompt").focus();
  }

  async function goNext() {
    const state = root.dataset.state;
    if (state !== "revealed" && state !== "broken") return;
    setState("loading");
    const matchup = nextMatchup ? await nextMatchup : null;
    if (matchup) showMatchup(matchup);
    else window.location.assign(nextLink.href);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter && event.submitter.value) castVote(event.submitter.value);
  });

  nextLink.addEventListener("click", (event) => {
    event.preventDefault();
    goNext();
  });

  document.addEventListener("keydown", (event) => {
    if (!isShortcut(event)) return;
    const state = root.dataset.state;
    if (state === "ready" && KEYS[event.key]) {
      event.preventDefault();
      castVote(KEYS[event.key]);
    } else if ((state === "revealed" || state === "broken") && (event.key === "n" || event.key === "N")) {
      event.preventDefault();
      goNext();
    }
  });

  armVoting();
  proveIdentity().catch(() => null); // a failure is reported when the voter votes
})();
