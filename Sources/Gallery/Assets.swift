/// The gallery's stylesheet and script, served from the binary (nothing is fetched from elsewhere).
enum Assets {
    static let css = """
        :root { color-scheme: dark; --bg: #111214; --panel: #1b1d21; --line: #2a2d33; --text: #e8e8ea; --dim: #9a9ca3; --accent: #7fb4ff; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
        a { color: var(--accent); text-decoration: none; }
        code { background: var(--panel); padding: 1px 5px; border-radius: 4px; }
        .bar { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 24px; padding: 10px 20px;
               background: rgba(17,18,20,.92); backdrop-filter: blur(6px); border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; letter-spacing: .02em; }
        .bar nav { display: flex; gap: 16px; flex: 1; }
        .bar nav a { color: var(--dim); } .bar nav a.current, .bar nav a:hover { color: var(--text); }
        .bar button, .login-box button { background: var(--panel); color: var(--text); border: 1px solid var(--line);
               border-radius: 6px; padding: 6px 12px; cursor: pointer; font: inherit; }
        .page-title { font-size: 22px; margin: 18px 20px 0; } .count { color: var(--dim); font-size: 13px; font-weight: 400; }
        .empty, .note { color: var(--dim); margin: 24px 20px; }
        .timeline { display: flex; flex-wrap: wrap; align-content: flex-start; gap: 0 28px; padding: 0 20px 40px; }
        .timeline > :not(.day) { flex-basis: 100%; margin-left: 0; margin-right: 0; }
        .day h2 { font-size: 14px; font-weight: 600; color: var(--dim); margin: 22px 0 8px; }
        .grid { display: flex; flex-wrap: wrap; gap: 4px; }
        .tile { position: relative; display: block; width: 168px; height: 168px; background: var(--panel); overflow: hidden; border-radius: 3px; }
        .tile img { width: 100%; height: 100%; object-fit: cover; display: block; transition: transform .15s; }
        .tile:hover img { transform: scale(1.04); }
        .badge { position: absolute; right: 6px; top: 6px; background: rgba(0,0,0,.6); color: #fff; font-size: 11px;
                 padding: 2px 6px; border-radius: 10px; font-weight: 600; }
        .no-thumb { display: flex; align-items: center; justify-content: center; width: 100%; height: 100%; color: var(--dim); font-size: 12px; }
        .no-thumb.large { height: 60vh; }
        #more { height: 1px; }
        .album-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 18px; padding: 16px 20px; }
        .album .cover { aspect-ratio: 4/3; background: var(--panel); border-radius: 6px; overflow: hidden; }
        .album .cover img { width: 100%; height: 100%; object-fit: cover; display: block; }
        .album-name { color: var(--text); margin-top: 6px; font-weight: 600; }
        .item { display: grid; grid-template-columns: 1fr 320px; min-height: calc(100vh - 49px); }
        .stage { position: relative; display: flex; align-items: center; justify-content: center; background: #000; }
        .stage figure { margin: 0; max-width: 100%; flex: 1; }
        .stage img { display: block; max-width: 100%; max-height: calc(100vh - 49px); margin: auto; }
        .stage video { display: block; width: 100%; height: calc(100vh - 49px); object-fit: contain; }
        .motion { position: relative; cursor: pointer; }
        .motion video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; background: #000; }
        .badge.play { top: 12px; left: 12px; right: auto; }
        .step { position: absolute; top: 50%; transform: translateY(-50%); font-size: 44px; color: #fff; opacity: .45;
                padding: 10px 16px; z-index: 2; } .step:hover { opacity: 1; }
        #newer { left: 0; } #older { right: 0; }
        .facts { background: var(--panel); border-left: 1px solid var(--line); padding: 18px 20px; overflow-wrap: anywhere; }
        .facts h1 { font-size: 16px; margin: 0 0 14px; } .facts h2 { font-size: 13px; color: var(--dim); margin: 22px 0 6px; }
        .facts dl { display: grid; grid-template-columns: 80px 1fr; gap: 6px 10px; margin: 0; }
        .facts dt { color: var(--dim); } .facts dd { margin: 0; }
        .downloads { padding-left: 18px; margin: 0; }
        @media (max-width: 800px) { .item { grid-template-columns: 1fr; } .facts { border-left: 0; } }
        body.login { display: flex; min-height: 100vh; align-items: center; justify-content: center; }
        .login-box { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 28px 32px; width: 340px;
                     display: flex; flex-direction: column; gap: 10px; }
        .login-box h1 { margin: 0 0 6px; font-size: 22px; } .login-box label { color: var(--dim); font-size: 13px; }
        .login-box input { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; font: inherit; }
        .login-box .note { margin: 0; color: #ffb4a8; } .hint { color: var(--dim); font-size: 12px; margin: 6px 0 0; }
        """

    static let javascript = #"""
        "use strict";
        // Timeline: append the next page of tiles when the end of the page comes into view.
        (function () {
          const main = document.getElementById("timeline");
          const more = document.getElementById("more");
          if (!main || !more) return;
          let next = Number(main.dataset.next), loading = false;
          const query = main.dataset.itemQuery || "";
          const source = main.dataset.source;
          function lastSection() { const s = main.querySelectorAll("section.day"); return s[s.length - 1]; }
          function tile(item) {
            const a = document.createElement("a");
            a.className = "tile"; a.href = "/items/" + item.id + query;
            if (item.thumbnail) {
              const img = document.createElement("img");
              img.loading = "lazy"; img.decoding = "async"; img.alt = ""; img.src = "/media/" + item.id + "/thumbnail";
              a.appendChild(img);
            } else {
              const span = document.createElement("span"); span.className = "no-thumb"; span.textContent = "no preview"; a.appendChild(span);
            }
            const badges = { video: "▶", livePhoto: "LIVE", motionPhoto: "MOTION" };
            if (badges[item.type]) { const b = document.createElement("span"); b.className = "badge"; b.textContent = badges[item.type]; a.appendChild(b); }
            return a;
          }
          async function load() {
            if (loading || next < 0) return;
            loading = true;
            try {
              const sep = source.includes("?") ? "&" : "?";
              const response = await fetch(source + sep + "offset=" + next, { credentials: "same-origin" });
              if (!response.ok) { next = -1; return; }
              const page = await response.json();
              for (const item of page.items) {
                let section = lastSection();
                if (!section || section.dataset.day !== item.day) {
                  section = document.createElement("section"); section.className = "day"; section.dataset.day = item.day;
                  const h = document.createElement("h2"); h.textContent = item.dayLabel; section.appendChild(h);
                  const g = document.createElement("div"); g.className = "grid"; section.appendChild(g);
                  main.insertBefore(section, more);
                }
                section.querySelector(".grid").appendChild(tile(item));
              }
              next = page.next;
            } finally { loading = false; }
            if (next >= 0 && more.getBoundingClientRect().top < window.innerHeight + 800) load();
          }
          new IntersectionObserver(function (entries) { if (entries.some(function (e) { return e.isIntersecting; })) load(); },
                                   { rootMargin: "800px" }).observe(more);
        })();

        // Item page: left/right between items; a Live Photo or motion photo plays its motion on click.
        (function () {
          document.addEventListener("keydown", function (event) {
            if (event.target && /INPUT|TEXTAREA/.test(event.target.tagName)) return;
            const target = event.key === "ArrowLeft" ? "newer" : event.key === "ArrowRight" ? "older" : null;
            const link = target && document.getElementById(target);
            if (link) { window.location.href = link.href; }
          });
          const motion = document.getElementById("motion");
          const video = document.getElementById("player");
          if (motion && video) {
            motion.addEventListener("click", function () {
              video.hidden = false; video.currentTime = 0; video.play();
            });
            video.addEventListener("ended", function () { video.hidden = true; });
          }
        })();
        """#
}
