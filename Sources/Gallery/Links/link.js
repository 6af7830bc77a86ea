// The public link page (docs/public-links.md): the link key is in the URL's fragment, which the browser never sends;
// everything the server gives is ciphertext, opened here with WebCrypto (AES-256-GCM, HKDF, PBKDF2) and, for
// originals, with link-crypto.js (secretstream, BLAKE2b). No key, password or plaintext leaves the page.
"use strict";
(function () {
  const subtle = window.crypto && window.crypto.subtle;
  const encoder = new TextEncoder();
  const $ = (id) => document.getElementById(id);
  const SALT = encoder.encode("keepsake-link-v1");
  const FETCHES_AT_ONCE = 4;

  /** Bytes that failed to open or to match their digest: shown as such, never as a picture. */
  class NotVerified extends Error {}
  /** The link is gone (410) or unknown (404). */
  class Gone extends Error { constructor(status) { super("gone"); this.status = status; } }

  // --- Encodings and keys --------------------------------------------------------------------------------------

  function fromBase64url(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }
  function toBase64url(bytes) {
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }
  function concat(a, b) { const out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; }

  async function hkdf(ikm, info) {
    const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: SALT, info: encoder.encode(info) }, key, 256));
  }
  async function pbkdf2(password, kdf) {
    if (kdf.kdf !== "PBKDF2-SHA256") throw new Error("this link uses a password scheme the page does not know: " + kdf.kdf);
    const key = await subtle.importKey("raw", encoder.encode(password.normalize("NFC")), "PBKDF2", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: fromBase64url(kdf.salt), iterations: kdf.iterations }, key, 256));
  }
  function aesKey(raw) { return subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]); }

  /** IV (12) ‖ AES-256-GCM ciphertext ‖ tag (16), bound to `ad`. */
  async function openSealed(key, sealed, ad) {
    if (sealed.length < 28) throw new NotVerified("too short");
    try {
      return new Uint8Array(await subtle.decrypt(
        { name: "AES-GCM", iv: sealed.subarray(0, 12), additionalData: encoder.encode(ad), tagLength: 128 }, key, sealed.subarray(12)));
    } catch (error) {
      throw new NotVerified("does not open");
    }
  }

  // --- The link ------------------------------------------------------------------------------------------------

  const token = (location.pathname.match(/^\/l\/([0-9a-f]{32})\/?$/) || [])[1];
  const base = "/l/" + token;
  let contentKey = null;
  let manifest = null;
  let items = [];

  function objectPath(name) { return base + "/o/" + name.split("/").map(encodeURIComponent).join("/"); }

  async function get(path, init) {
    const response = await fetch(path, Object.assign({ credentials: "same-origin", cache: "no-store", referrerPolicy: "no-referrer" }, init));
    if (response.status === 404 || response.status === 410) throw new Gone(response.status);
    return response;
  }
  async function bytes(response) {
    if (!response.ok) throw new Error("the server answered " + response.status);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** A link object (thumbnail, large picture, playlist), opened and bound to its name and this link. */
  async function linkObject(name) {
    if (!name.startsWith("links/" + token + "/o/")) throw new NotVerified("not an object of this link");
    const sealed = await bytes(await get(objectPath(name)));
    return openSealed(contentKey, sealed, "keepsake link object v1\n" + token + "\n" + name);
  }

  // --- Status, gone, password ----------------------------------------------------------------------------------

  function say(text, kind) {
    const status = $("status");
    status.hidden = !text;
    status.textContent = text || "";
    status.className = "status" + (kind ? " " + kind : "");
  }
  function gone(status) {
    document.body.classList.add("gone");
    document.title = status === 410 ? "Link expired or revoked" : "No such link";
    $("unlock").hidden = true;
    $("grid").replaceChildren();
    closeViewer();
    say(status === 410
      ? "This shared album is no longer available: its link has expired or was revoked."
      : "There is no shared album at this address. Check that the link was copied whole.", "error");
  }
  function fail(error) {
    if (error instanceof Gone) return gone(error.status);
    if (error instanceof NotVerified) return say("This album could not be verified: what the server sent does not open with this link's key.", "error");
    say("The album could not be opened: " + error.message, "error");
  }

  function askPassword(kdf, linkKey) {
    const form = $("unlock"), input = $("password"), note = $("unlock-note"), button = $("open");
    say("");
    form.hidden = false;
    input.focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      note.className = "note";
      note.textContent = "Checking the password…";
      try {
        const p = await pbkdf2(input.value, kdf);
        const check = await hkdf(p, "password check " + token);
        const response = await get(base + "/unlock", { method: "POST", body: toBase64url(check), headers: { "Content-Type": "text/plain" } });
        note.className = "note error";
        if (response.status === 403) {
          note.textContent = "Wrong password. Try again.";
          input.select();
          button.disabled = false;
          return;
        }
        if (response.status === 429) {
          const seconds = Math.max(1, Number(response.headers.get("Retry-After")) || 60);
          note.textContent = "Too many attempts. Wait " + seconds + " seconds, then try again.";
          setTimeout(() => { button.disabled = false; note.textContent = ""; }, seconds * 1000);
          return;
        }
        const sealed = await bytes(response);
        form.hidden = true;
        await show(await hkdf(concat(linkKey, p), "manifest " + token), sealed);
      } catch (error) {
        button.disabled = false;
        note.textContent = "";
        form.hidden = error instanceof NotVerified;
        fail(error);
      }
    });
  }

  // --- The album -----------------------------------------------------------------------------------------------

  async function show(manifestKey, sealed) {
    const plain = await openSealed(await aesKey(manifestKey), sealed, "keepsake link manifest v1\n" + token);
    manifest = JSON.parse(new TextDecoder().decode(plain));
    if (manifest.version !== 1 || manifest.token !== token || !Array.isArray(manifest.items)) throw new NotVerified("not this link's manifest");
    contentKey = await aesKey(fromBase64url(manifest.contentKey));
    const taken = (item) => Date.parse(item.takenAt) || -Infinity;  // undated items last
    items = manifest.items.slice().sort((a, b) => taken(b) - taken(a));
    document.title = manifest.title || "Shared album";
    $("title").textContent = manifest.title || "Shared album";
    $("count").textContent = items.length === 1 ? "1 item" : items.length + " items";
    say(items.length ? "" : "This album is empty.");
    grid();
  }

  const waiting = [];
  let running = 0;
  function limited(task) {
    return new Promise((resolve, reject) => { waiting.push({ task, resolve, reject }); pump(); });
  }
  function pump() {
    while (running < FETCHES_AT_ONCE && waiting.length) {
      const next = waiting.shift();
      running += 1;
      next.task().then(next.resolve, next.reject).finally(() => { running -= 1; pump(); });
    }
  }

  const thumbnails = new Map(); // item index → blob: URL of its thumbnail

  function grid() {
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        limited(() => loadTile(entry.target));
      }
    }, { rootMargin: "600px" });
    const tiles = items.map((item, index) => {
      const tile = document.createElement("button");
      tile.type = "button";
      tile.className = "tile";
      tile.dataset.index = index;
      tile.setAttribute("aria-label", item.name || "item " + (index + 1));
      const badge = { video: "▶", livePhoto: "LIVE", motionPhoto: "MOTION" }[item.type];
      if (badge) { const b = document.createElement("span"); b.className = "badge"; b.textContent = badge; tile.appendChild(b); }
      tile.addEventListener("click", () => openViewer(index));
      observer.observe(tile);
      return tile;
    });
    $("grid").replaceChildren(...tiles);
  }

  async function loadTile(tile) {
    const index = Number(tile.dataset.index);
    if (!items[index].thumbnail) {
      const note = document.createElement("span");
      note.className = "problem none";
      note.textContent = "no preview";
      tile.prepend(note);
      tile.classList.add("empty");
      return;
    }
    try {
      const url = await thumbnailURL(index);
      const img = document.createElement("img");
      img.alt = "";
      img.src = url;
      await img.decode();
      tile.prepend(img);
      tile.classList.add("loaded");
    } catch (error) {
      if (error instanceof Gone) return gone(error.status);
      tile.classList.add("bad");
      const note = document.createElement("span");
      note.className = "problem";
      note.textContent = error instanceof NotVerified || error instanceof DOMException ? "could not be verified" : "could not be loaded";
      tile.prepend(note);
    }
  }

  async function thumbnailURL(index) {
    if (!thumbnails.has(index)) {
      const jpeg = await linkObject(items[index].thumbnail);
      thumbnails.set(index, URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" })));
    }
    return thumbnails.get(index);
  }

  // --- The viewer ----------------------------------------------------------------------------------------------

  let current = -1;
  let viewerURLs = [];
  let opening = 0; // the viewer's generation: a slow decrypt for an item left behind is dropped

  function problem(text) {
    const p = document.createElement("p");
    p.className = "problem large";
    p.textContent = text;
    return p;
  }

  function closeViewer() {
    if (current < 0) return;
    const tile = $("grid").children[current];
    current = -1;
    opening += 1;
    $("stage").replaceChildren();
    viewerURLs.forEach(URL.revokeObjectURL);
    viewerURLs = [];
    $("viewer").hidden = true;
    document.body.classList.remove("viewing");
    if (tile) tile.focus();
  }

  function openViewer(index) {
    if (index < 0 || index >= items.length) return;
    current = index;
    const generation = ++opening;
    const item = items[index];
    viewerURLs.forEach(URL.revokeObjectURL);
    viewerURLs = [];
    $("viewer").hidden = false;
    document.body.classList.add("viewing");
    $("viewer").focus();
    $("previous").hidden = index === 0;
    $("next").hidden = index === items.length - 1;
    $("name").textContent = item.name || "";
    facts(item);
    downloads(item);
    const stage = $("stage");
    stage.replaceChildren();
    if (item.type === "video" && item.stream) {
      const video = document.createElement("video");
      video.id = "player";
      video.controls = true;
      video.playsInline = true;
      video.preload = "metadata";
      thumbnailURL(index).then((url) => { video.poster = url; }, () => {});
      video.addEventListener("error", () => { if (generation === opening && video.src) stage.replaceChildren(unplayable()); });
      stage.appendChild(video);
      streamURL(item).then((url) => {
        if (generation !== opening) return;
        video.src = url;
      }, (error) => { if (generation === opening) stage.replaceChildren(problem(message(error, "video"))); });
    } else if ((item.type === "livePhoto" || item.type === "motionPhoto") && item.stream) {
      const motion = document.createElement("div");
      motion.className = "motion";
      motion.id = "motion";
      const video = document.createElement("video");
      video.id = "player";
      video.playsInline = true;
      video.hidden = true;
      const play = document.createElement("button");
      play.type = "button";
      play.className = "play";
      play.textContent = item.type === "livePhoto" ? "▶ LIVE" : "▶ MOTION";
      motion.append(video, play);
      stage.appendChild(motion);
      motion.prepend(viewerImage(item, index, generation));
      const stream = streamURL(item);
      stream.catch(() => {});  // told when played
      video.addEventListener("error", () => {
        if (generation !== opening || !video.src) return;
        video.hidden = true;
        motion.appendChild(unplayable());
      });
      const start = () => stream.then((url) => {
        if (generation !== opening) return;
        if (!video.src) video.src = url;
        video.hidden = false;
        video.currentTime = 0;
        return video.play();
      }).catch((error) => { if (generation === opening) motion.appendChild(problem(message(error, "motion"))); });
      play.addEventListener("click", (event) => { event.stopPropagation(); start(); });
      motion.addEventListener("click", start);
      video.addEventListener("ended", () => { video.hidden = true; });
    } else {
      stage.appendChild(viewerImage(item, index, generation));
    }
  }

  /** The stream's segments are AES-128 as HLS has it, without authentication: what does not play is said so. */
  function unplayable() {
    return problem("This video could not be played: its stream is damaged, was altered, or is in a form this browser does not play.");
  }

  function message(error, what) {
    if (error instanceof Gone) { gone(error.status); return ""; }
    return error instanceof NotVerified || error instanceof DOMException
      ? "This " + what + " could not be verified: what the server sent does not open with this link's key."
      : "This " + what + " could not be loaded (" + error.message + ").";
  }

  /** The large picture (the thumbnail until it opens), or a note saying why there is none. */
  function viewerImage(item, index, generation) {
    const img = document.createElement("img");
    img.id = "photo";
    img.alt = item.name || "";
    img.className = "preview";
    const replace = (error, what) => {
      if (generation !== opening) return;
      const text = message(error, what);
      if (text && img.isConnected) img.replaceWith(problem(text));
    };
    thumbnailURL(index).then((url) => { if (img.dataset.state !== "large") img.src = url; },
                             (error) => { if (!item.large) replace(error, "picture"); });
    if (item.large) {
      linkObject(item.large).then(async (jpeg) => {
        if (generation !== opening) return;
        const url = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
        viewerURLs.push(url);
        const full = new Image();
        full.src = url;
        await full.decode();
        img.src = url;
        img.dataset.state = "large";
        img.className = "";
      }).catch((error) => replace(error, "picture"));
    }
    return img;
  }

  /** The stream's playlist, opened, its segment lines pointing at the link's route for the segments object and its
   *  key's `data:` URI made a `blob:` URL (the page's CSP lets media come from 'self' and blob: only). */
  async function streamURL(item) {
    if (!document.createElement("video").canPlayType("application/vnd.apple.mpegurl")) {
      throw new Error("this browser does not play HLS streams; Chromium, Chrome, Edge and Safari do");
    }
    if (!item.stream.segments.startsWith("data/")) throw new NotVerified("not a stream object");
    const text = new TextDecoder().decode(await linkObject(item.stream.playlist));
    const segments = location.origin + objectPath(item.stream.segments);
    const keys = new Map();  // data: URI → blob: URL
    const keyURL = (uri) => {
      if (!keys.has(uri)) {
        const key = Uint8Array.from(atob(uri.slice(uri.indexOf(",") + 1)), (c) => c.charCodeAt(0));
        keys.set(uri, blobURL(key, "application/octet-stream"));
      }
      return keys.get(uri);
    };
    const playlist = text.split("\n").map((line) => {
      if (line.startsWith("#EXT-X-KEY:")) return line.replace(/URI="(data:[^;,"]*;base64,[A-Za-z0-9+/=]*)"/, (_, uri) => 'URI="' + keyURL(uri) + '"');
      return line.trim() === "" || line.startsWith("#") ? line : segments;
    }).join("\n");
    return blobURL(playlist, "application/vnd.apple.mpegurl");
  }

  /** A blob: URL for the viewer's item, revoked when the viewer moves on. */
  function blobURL(data, type) {
    const url = URL.createObjectURL(new Blob([data], { type }));
    viewerURLs.push(url);
    return url;
  }

  function facts(item) {
    const list = $("facts");
    list.replaceChildren();
    const add = (term, value) => {
      const dt = document.createElement("dt"); dt.textContent = term;
      const dd = document.createElement("dd");
      if (typeof value === "string") dd.textContent = value; else dd.appendChild(value);
      list.append(dt, dd);
    };
    if (item.takenAt) {
      const date = new Date(item.takenAt);
      if (!isNaN(date)) add("Taken", date.toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" }));
    }
    if (item.width && item.height) add("Size", item.width + " × " + item.height);
    const place = item.place;
    if (place && Number.isFinite(place.latitude) && Number.isFinite(place.longitude)) {
      const lat = place.latitude.toFixed(5), lon = place.longitude.toFixed(5);
      const span = document.createElement("span");
      const link = document.createElement("a");
      link.href = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=15/" + lat + "/" + lon;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.textContent = "map";
      span.append(lat + ", " + lon + " (", link, ")");
      add("Place", span);
    }
  }

  // --- Downloads -----------------------------------------------------------------------------------------------

  function downloads(item) {
    const box = $("downloads");
    box.replaceChildren();
    if (manifest.allowDownload !== true || !Array.isArray(item.originals)) return;
    for (const original of item.originals) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "download";
      const label = "Download " + original.name + " (" + size(original.size) + ")";
      button.textContent = label;
      const note = document.createElement("p");
      note.className = "note";
      button.addEventListener("click", async () => {
        button.disabled = true;
        note.textContent = "Downloading and verifying…";
        try {
          const blob = await verifiedOriginal(original);
          const url = URL.createObjectURL(blob);
          const a = document.createElement("a");
          a.href = url;
          a.download = original.name;
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60000);
          note.textContent = "Verified and saved.";
        } catch (error) {
          note.textContent = message(error, "file");
        } finally {
          button.disabled = false;
        }
      });
      box.append(button, note);
    }
  }

  function size(n) {
    return n >= 1e6 ? (n / 1e6).toFixed(1) + " MB" : n >= 1e3 ? Math.round(n / 1e3) + " kB" : n + " bytes";
  }

  /** The original, read as stored, checked (stored size and BLAKE2b), decrypted and checked again, as a Blob. */
  async function verifiedOriginal(original) {
    const K = window.KeepsakeLinkCrypto;
    if (!K) throw new Error("link-crypto.js is missing");
    if (!original.object.startsWith("data/")) throw new NotVerified("not a data object");
    const response = await get(objectPath(original.object));
    if (!response.ok) throw new Error("the server answered " + response.status);
    const storedHash = new K.Blake2b();
    const plainHash = new K.Blake2b();
    const opener = K.createOpener(fromBase64url(original.fileKey));
    const parts = [];
    let stored = 0, plain = 0;
    const take = (chunks) => { for (const chunk of chunks) { plainHash.update(chunk); plain += chunk.length; parts.push(chunk); } };
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        stored += value.length;
        if (stored > original.storedSize) throw new NotVerified("longer than the manifest says");
        storedHash.update(value);
        take(opener.push(value));
      }
      if (stored !== original.storedSize || hex(storedHash.final()) !== original.storedBlake2b) throw new NotVerified("stored bytes differ");
      take(opener.finish());
    } catch (error) {
      if (error instanceof NotVerified || error instanceof Gone) throw error;
      throw new NotVerified(String(error));
    }
    if (plain !== original.size || hex(plainHash.final()) !== original.plainBlake2b) throw new NotVerified("plaintext differs");
    return new Blob(parts, { type: original.mimeType || "application/octet-stream" });
  }

  // --- Keys and arrows -----------------------------------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (current < 0 || (event.target && /INPUT|TEXTAREA/.test(event.target.tagName))) return;
    if (event.key === "Escape") closeViewer();
    else if (event.key === "ArrowLeft") openViewer(current - 1);
    else if (event.key === "ArrowRight") openViewer(current + 1);
    else return;
    event.preventDefault();
  });
  $("close").addEventListener("click", closeViewer);
  $("previous").addEventListener("click", () => openViewer(current - 1));
  $("next").addEventListener("click", () => openViewer(current + 1));

  // --- Start ---------------------------------------------------------------------------------------------------

  async function start() {
    if (!subtle) return say("This page decrypts the album in your browser, which allows that only over HTTPS (or on localhost).", "error");
    if (!token) return gone(404);
    let linkKey;
    try {
      linkKey = fromBase64url(location.hash.slice(1));
    } catch (error) { linkKey = null; }
    if (!linkKey || linkKey.length !== 32) {
      return say("This link is incomplete: the key after its # is missing or damaged. Ask for the whole link again.", "error");
    }
    try {
      const response = await get(base + "/info");
      if (!response.ok) throw new Error("the server answered " + response.status);
      const info = await response.json();
      if (info.password) return askPassword(info.password, linkKey);
      const sealed = await bytes(await get(base + "/manifest"));
      await show(await hkdf(linkKey, "manifest " + token), sealed);
    } catch (error) {
      fail(error);
    }
  }
  window.addEventListener("hashchange", () => location.reload());  // another key: start again
  start();
})();
