// A collect link's page (docs/public-links.md, "Collect links"): guests upload photos and videos into an album they
// cannot see. Each file is sealed here before it leaves the browser: a fresh X25519 key pair per upload, agreed with
// the link's upload public key (from the sealed manifest, so the server cannot swap it), HKDF-SHA256, AES-256-GCM in
// chunks bound to their index and to the last one. link.js opens the manifest and calls KeepsakeCollect.start.
"use strict";
window.KeepsakeCollect = (function () {
  const subtle = window.crypto && window.crypto.subtle;
  const encoder = new TextEncoder();
  const SALT = encoder.encode("keepsake-collect-v1");
  const $ = (id) => document.getElementById(id);

  let token = null, base = null, limits = null, recipient = null, recipientRaw = null;
  const rows = new Map(); // upload id → its row's parts

  function fromBase64url(text) {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }
  function toBase64url(bytes) {
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }
  function join(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function size(bytes) {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let value = bytes, unit = 0;
    while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
    return (unit ? value.toFixed(value < 10 ? 1 : 0) : value) + " " + units[unit];
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // --- What this browser keeps: per upload, what it needs to resume (localStorage) ------------------------------

  const storageKey = () => "keepsake-collect-" + token;
  function saved() {
    try { return JSON.parse(localStorage.getItem(storageKey())) || {}; } catch (error) { return {}; }
  }
  function save(entry) {
    const all = saved();
    all[entry.id] = entry;
    localStorage.setItem(storageKey(), JSON.stringify(all));
  }

  // --- Sealing ----------------------------------------------------------------------------------------------------

  async function hkdf(ikm, info) {
    const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: SALT, info: encoder.encode(info) }, key, 256));
  }
  function nonce(index) {
    const bytes = new Uint8Array(12), view = new DataView(bytes.buffer);
    view.setUint32(4, Math.floor(index / 2 ** 32));
    view.setUint32(8, index % 2 ** 32);
    return bytes;
  }

  /** A new upload of `file`: its id, its keys, its sealed header; the chunk key is kept for resuming. */
  async function newUpload(file) {
    const id = hex(crypto.getRandomValues(new Uint8Array(16)));
    const ephemeral = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
    const E = new Uint8Array(await subtle.exportKey("raw", ephemeral.publicKey));
    const shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: recipient }, ephemeral.privateKey, 256));
    if (shared.every((b) => b === 0)) throw new Error("the link's upload key is not usable");
    const ikm = join(shared, E, recipientRaw);
    const headerKey = await subtle.importKey("raw", await hkdf(ikm, "header " + token + "\n" + id), "AES-GCM", false, ["encrypt"]);
    const chunkKey = await hkdf(ikm, "chunks " + token + "\n" + id);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const header = encoder.encode(JSON.stringify({ name: file.name, size: file.size, type: file.type || "" }));
    const sealed = new Uint8Array(await subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode("keepsake collect header v1\n" + token + "\n" + id) }, headerKey, header));
    return {
      entry: { id, name: file.name, size: file.size, modified: file.lastModified, chunkSize: limits.chunkSize,
               chunkKey: toBase64url(chunkKey), complete: false,
               start: { id, ephemeralKey: toBase64url(E), header: toBase64url(join(iv, sealed)), size: file.size } },
    };
  }

  // --- Talking to the server: a dropped connection or a restarting server is waited out ------------------------

  class Refused extends Error { constructor(status, text) { super(text || ("the server answered " + status)); this.status = status; } }

  /** fetch, retried while the server cannot be reached or answers 5xx; a 4xx is a refusal. */
  async function request(path, init, note) {
    for (let attempt = 0; ; attempt += 1) {
      let response = null;
      try {
        response = await fetch(base + path, Object.assign({ credentials: "same-origin", cache: "no-store", referrerPolicy: "no-referrer" }, init));
      } catch (error) {
        response = null; // the connection dropped, or the server is away
      }
      if (response && response.status < 500) {
        if (response.ok) return response;
        if (response.status === 429) {
          await sleep(1000 * Math.max(1, Number(response.headers.get("Retry-After")) || 5));
          continue;
        }
        throw new Refused(response.status, (await response.text()).trim());
      }
      if (note) note("Connection lost: retrying…");
      await sleep(Math.min(5000, 500 * (attempt + 1)));
    }
  }

  // --- The page ---------------------------------------------------------------------------------------------------

  function row(id, name, bytes) {
    if (rows.has(id)) return rows.get(id);
    const li = document.createElement("li");
    li.className = "upload";
    li.dataset.id = id;
    const title = document.createElement("span");
    title.className = "upload-name";
    title.textContent = name;
    const length = document.createElement("span");
    length.className = "upload-size";
    length.textContent = size(bytes);
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + name);
    const state = document.createElement("span");
    state.className = "upload-state";
    li.append(title, length, bar, state);
    $("uploads").prepend(li);
    const parts = { li, bar, state, set(text, kind) { state.textContent = text; li.dataset.state = kind || ""; } };
    rows.set(id, parts);
    $("uploads-empty").hidden = true;
    return parts;
  }

  /** The uploads this browser made (the server knows them by its cookie; the names are kept here). */
  async function list() {
    const mine = await (await request("/uploads", {})).json();
    const local = saved();
    for (const upload of mine) {
      const entry = local[upload.id];
      const parts = row(upload.id, entry ? entry.name : "A file uploaded from this browser", upload.size);
      if (upload.taken) { parts.bar.value = 1; parts.set("In the album", "taken"); }
      else if (upload.complete) { parts.bar.value = 1; parts.set("Uploaded", "complete"); }
      else if (!sending.has(upload.id)) {
        parts.set(entry ? "Paused: choose this file again to finish it" : "Not finished", "paused");
        request("/uploads/" + upload.id, {}).then((r) => r.json()).then((progress) => {
          if (sending.has(upload.id)) return;
          parts.bar.max = progress.chunks;
          parts.bar.value = progress.have.length;
        }, () => {});
      }
    }
    $("uploads-empty").hidden = rows.size > 0;
  }

  const sending = new Set();
  let queue = Promise.resolve();

  function add(files) {
    for (const file of files) {
      if (file.size > limits.maxUploadSize) {
        say("“" + file.name + "” is larger than this link takes (" + size(limits.maxUploadSize) + ").", "error");
        continue;
      }
      queue = queue.then(() => upload(file)).catch((error) => say(error.message, "error"));
    }
  }

  async function upload(file) {
    // The same file chosen again after a reload: resume its upload.
    const earlier = Object.values(saved()).find((e) => !e.complete && e.name === file.name && e.size === file.size && e.modified === file.lastModified);
    const entry = earlier || (await newUpload(file)).entry;
    save(entry);
    // Starting it again is harmless (the server answers 200 to the same uploader), and needed if the first try was lost.
    await request("/uploads", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(entry.start) });
    sending.add(entry.id);
    const parts = row(entry.id, entry.name, entry.size);
    try {
      await send(entry, file, parts);
    } catch (error) {
      parts.set(error instanceof Refused ? "Refused: " + error.message : "Failed: " + error.message, "failed");
      throw error;
    } finally {
      sending.delete(entry.id);
    }
  }

  async function send(entry, file, parts) {
    const key = await subtle.importKey("raw", fromBase64url(entry.chunkKey), "AES-GCM", false, ["encrypt"]);
    const note = (text) => parts.set(text, "retrying");
    for (;;) {
      // What the server has (after a reload or a dropped connection, some chunks are there already).
      const progress = await (await request("/uploads/" + entry.id, {}, note)).json();
      if (progress.complete) break;
      const have = new Set(progress.have);
      const count = progress.chunks;
      parts.bar.max = count;
      parts.bar.value = have.size;
      let lost = false;
      for (let index = 0; index < count && !lost; index += 1) {
        if (have.has(index)) continue;
        parts.set("Uploading… " + Math.floor(100 * have.size / count) + "%", "uploading");
        const start = index * entry.chunkSize;
        const plain = new Uint8Array(await file.slice(start, Math.min(file.size, start + entry.chunkSize)).arrayBuffer());
        const ad = "keepsake collect chunk v1\n" + token + "\n" + entry.id + "\n" + index + "\n" + (index === count - 1 ? "final" : "more");
        const sealed = await subtle.encrypt({ name: "AES-GCM", iv: nonce(index), additionalData: encoder.encode(ad) }, key, plain);
        try {
          await request("/uploads/" + entry.id + "/chunks/" + index, { method: "PUT", body: sealed }, note);
        } catch (error) {
          if (!(error instanceof Refused) || error.status !== 409) throw error;
          lost = true; // complete already: ask again
        }
        have.add(index);
        parts.bar.value = have.size;
      }
      try {
        await request("/uploads/" + entry.id + "/complete", { method: "POST" }, note);
        break;
      } catch (error) {
        if (!(error instanceof Refused) || error.status !== 409) throw error; // a chunk is missing: ask which
      }
    }
    entry.complete = true;
    save(entry);
    parts.bar.value = parts.bar.max;
    parts.set("Uploaded", "complete");
  }

  function say(text, kind) {
    const note = $("collect-note");
    note.textContent = text || "";
    note.className = "note" + (kind ? " " + kind : "");
  }

  async function start(options) {
    token = options.token;
    base = options.base;
    limits = options.manifest.upload;
    recipientRaw = fromBase64url(limits.publicKey);
    if (recipientRaw.length !== 32) throw new Error("this link's upload key is not a key");
    recipient = await subtle.importKey("raw", recipientRaw, { name: "X25519" }, false, []);
    document.body.classList.add("collecting");
    $("grid").hidden = true;
    $("count").textContent = "";
    $("collect").hidden = false;
    $("collect-limits").textContent = "Up to " + size(limits.maxUploadSize) + " a file.";
    const input = $("files"), drop = $("drop");
    input.addEventListener("change", () => { add(Array.from(input.files)); input.value = ""; });
    drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      add(Array.from(event.dataTransfer.files));
    });
    await list();
  }

  return { start };
})();
