// The playground: one request per picked model or provider, each image shown as it
// arrives with its TTFB, generation time and cost. Anonymous use needs the arena's
// proof of work (the same identity check as voting).
(function () {
  "use strict";
  const root = document.getElementById("playground");
  if (!root) return;
  const form = document.getElementById("playground-form");
  const status = root.querySelector("[data-field=status]");
  const results = root.querySelector("[data-field=results]");
  const button = root.querySelector("[data-field=run]");
  const max = parseInt(root.dataset.max, 10) || 4;
  let proof = null;

  function csrfToken() {
    const input = form.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function ensureProof() {
    if (!root.dataset.needsProof) return Promise.resolve();
    if (!proof) {
      proof = solveAndSend().then(
        () => { delete root.dataset.needsProof; },
        (error) => { proof = null; throw error; }
      );
    }
    return proof;
  }

  async function solveAndSend() {
    if (!(window.crypto && crypto.subtle)) throw new Error("The playground needs a secure (HTTPS) connection.");
    const response = await fetch(root.dataset.challengeUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("The browser check could not start. Reload the page.");
    const challenge = (await response.json()).challenge;
    if (!challenge) return;
    const number = await solve(challenge);
    const body = new FormData();
    body.set("altcha", btoa(JSON.stringify({
      algorithm: challenge.algorithm, challenge: challenge.challenge, number: number,
      salt: challenge.salt, signature: challenge.signature,
    })));
    const answer = await fetch(root.dataset.identityUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    if (!answer.ok) throw new Error("The browser check failed. Reload the page.");
  }

  async function solve(challenge) {
    const target = new Uint8Array(challenge.challenge.match(/../g).map((h) => parseInt(h, 16)));
    const encoder = new TextEncoder();
    const BATCH = 1000;
    for (let start = 0; start <= challenge.maxNumber; start += BATCH) {
      const numbers = [];
      for (let n = start; n < Math.min(start + BATCH, challenge.maxNumber + 1); n++) numbers.push(n);
      const digests = await Promise.all(numbers.map((n) => crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n))));
      for (let i = 0; i < digests.length; i++) {
        const bytes = new Uint8Array(digests[i]);
        if (bytes.every((b, k) => b === target[k])) return numbers[i];
      }
    }
    throw new Error("The browser check found no answer. Reload the page.");
  }

  function picked() {
    const boxes = Array.from(form.querySelectorAll("input[name=target]:checked"));
    const models = boxes.filter((b) => b.dataset.kind === "model");
    const offerings = boxes.filter((b) => b.dataset.kind === "offering");
    if (!boxes.length) throw new Error("Pick at least one model or provider.");
    if (models.length && offerings.length) throw new Error("Pick models, or one model's providers, not both.");
    if (new Set(offerings.map((b) => b.dataset.model)).size > 1) throw new Error("Providers must all serve one model.");
    if (boxes.length > max) throw new Error(`Pick at most ${max}.`);
    return boxes.map((b) => ({ value: b.value, label: b.closest("label").textContent.trim() }));
  }

  function card(label) {
    const figure = document.createElement("figure");
    figure.className = "result";
    figure.dataset.state = "waiting";
    const caption = document.createElement("figcaption");
    caption.textContent = `${label}: generating…`;
    figure.appendChild(caption);
    results.appendChild(figure);
    return figure;
  }

  function figures(image) {
    const ms = (v) => (v == null ? "—" : `${Math.round(v).toLocaleString("en")} ms`);
    return `${image.model} via ${image.provider} · TTFB ${ms(image.ttfb_ms)} · generation ${ms(image.generation_ms)} · cost $${Number(image.cost_usd).toFixed(4)}`;
  }

  async function runOne(prompt, target, figure) {
    const response = await fetch(root.dataset.runUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ prompt: prompt, target: target.value }),
    });
    const data = await response.json().catch(() => ({ error: "The server did not answer." }));
    const caption = figure.querySelector("figcaption");
    if (!response.ok) {
      figure.dataset.state = "failed";
      caption.textContent = `${target.label}: ${data.error}`;
      return;
    }
    const img = document.createElement("img");
    img.src = data.image.image_url;
    img.width = data.image.width;
    img.height = data.image.height;
    img.alt = `${data.image.model} via ${data.image.provider}: ${prompt}`;
    figure.insertBefore(img, caption);
    caption.textContent = figures(data.image);
    figure.dataset.state = "done";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let targets;
    try { targets = picked(); } catch (error) { status.textContent = error.message; return; }
    const prompt = form.querySelector("#prompt").value;
    button.disabled = true;
    results.textContent = "";
    status.textContent = "Checking your browser…";
    try {
      await ensureProof();
      status.textContent = `Generating ${targets.length} ${targets.length === 1 ? "image" : "images"}…`;
      await Promise.all(targets.map((target) => runOne(prompt, target, card(target.label))));
      status.textContent = "Done.";
    } catch (error) {
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });

  if (root.dataset.needsProof) ensureProof().catch(() => {});
})();
