// Glimpse page behaviour, loaded as a file (the CSP forbids inline scripts). Every form also
// works without JavaScript; this only makes it smoother.
const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

// Photos with a long side over this many pixels are scaled down before sending (the server
// keeps at least 2048 px, so nothing the app serves loses detail).
const CLIENT_MAX_SIDE = 2048;
const CLIENT_DOWNSCALE_OVER_BYTES = 8 * 1024 * 1024;

function setupFlashes() {
  document.querySelectorAll("[data-dismiss]").forEach((button) => {
    button.addEventListener("click", () => button.closest("[data-flash]").remove());
  });
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

// Infinite scroll: when the "Load more" link comes into view, fetch the next cards (rendered by
// the server with the same template) and put them in its place.
function setupInfiniteScroll() {
  const feed = document.querySelector("[data-feed]");
  if (!feed || !("IntersectionObserver" in window)) return;
  const observer = new IntersectionObserver(async (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const link = entry.target;
      observer.unobserve(link);
      const url = new URL(link.href, window.location.href);
      url.searchParams.set("fragment", "1");
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) { observer.observe(link); return; }
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      link.replaceWith(template.content);
      watch();
    }
  }, { rootMargin: "600px" });
  const watch = () => feed.querySelectorAll("[data-next-page]").forEach((link) => observer.observe(link));
  watch();
}

// Similar photos: fetched once the post page has painted (their vector search is not on its way
// there), in place of the link that shows them without JavaScript; none found, no section.
async function setupSimilar() {
  const link = document.querySelector("[data-similar-link]");
  if (!link) return;
  const url = new URL(link.href, window.location.href);
  url.searchParams.set("fragment", "1");
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) return;
  const html = (await response.text()).trim();
  if (!html) { link.closest("[data-similar]").remove(); return; }
  const template = document.createElement("template");
  template.innerHTML = html;
  link.parentElement.replaceWith(template.content);
}

// Likes go through the JSON API so the page does not reload.
function setupLikes() {
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("[data-like-form]");
    if (!form) return;
    event.preventDefault();
    const postId = form.closest("[data-post-id]")?.dataset.postId || form.action.split("/p/")[1].split("/")[0];
    const action = form.querySelector('[name="action"]');
    const response = await fetch(`/api/v1/posts/${postId}/like`, {
      method: action.value === "like" ? "PUT" : "DELETE",
      headers: { "X-CSRF-Token": csrfToken() },
      credentials: "same-origin",
    });
    if (!response.ok) { form.submit(); return; }
    const post = await response.json();
    const liked = post.liked_by_me;
    action.value = liked ? "unlike" : "like";
    const button = form.querySelector("button");
    button.setAttribute("aria-pressed", String(liked));
    button.children[0].textContent = liked ? "♥" : "♡";
    button.children[1].textContent = liked ? "Unlike" : "Like";
    const count = form.parentElement.querySelector("[data-like-count]");
    if (count) count.textContent = `${post.like_count} ${post.like_count === 1 ? "like" : "likes"}`;
  });
}

async function downscaleIfHuge(file) {
  if (!file.type.startsWith("image/") || file.type === "image/heic") return file;
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch { return file; }  // let the server judge it
  const longSide = Math.max(bitmap.width, bitmap.height);
  if (longSide <= CLIENT_MAX_SIDE * 2 && file.size <= CLIENT_DOWNSCALE_OVER_BYTES) return file;
  if (longSide <= CLIENT_MAX_SIDE) return file;
  const scale = CLIENT_MAX_SIDE / longSide;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  return new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" });
}

// Upload: drag and drop (or choose) photos, see each one's progress, land on the new post.
function setupUpload() {
  const form = document.querySelector("[data-upload-form]");
  if (!form) return;
  const input = form.querySelector('input[type="file"]');
  const dropzone = form.querySelector("[data-dropzone]");
  const list = form.querySelector("[data-file-list]");
  const errorBox = form.querySelector("[data-upload-error]");
  let files = [];

  const render = () => {
    list.replaceChildren(...files.map((file, index) => {
      const item = document.createElement("li");
      item.className = "rounded-lg border border-slate-200 px-3 py-2 text-sm dark:border-slate-700";
      item.dataset.testid = "upload-file";
      const name = document.createElement("div");
      name.className = "flex justify-between";
      name.textContent = file.name;
      const size = document.createElement("span");
      size.className = "text-slate-500";
      size.textContent = `${Math.round(file.size / 1024)} KB`;
      name.append(size);
      const bar = document.createElement("progress");
      bar.max = 100; bar.value = 0; bar.className = "mt-1 w-full";
      bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
      bar.dataset.index = index;
      item.append(name, bar);
      return item;
    }));
  };
  const add = (chosen) => { files = [...files, ...Array.from(chosen)].slice(0, 10); render(); };

  input.addEventListener("change", () => { add(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach((type) => dropzone.addEventListener(type, (event) => {
    event.preventDefault(); dropzone.classList.add("border-indigo-500");
  }));
  ["dragleave", "drop"].forEach((type) => dropzone.addEventListener(type, (event) => {
    event.preventDefault(); dropzone.classList.remove("border-indigo-500");
  }));
  dropzone.addEventListener("drop", (event) => add(event.dataTransfer.files));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.classList.add("hidden");
    if (!files.length) { showError("Add at least one photo."); return; }
    const prepared = await Promise.all(files.map(downscaleIfHuge));
    const body = new FormData();
    prepared.forEach((file) => body.append("photos", file, file.name));
    body.append("caption", form.querySelector('[name="caption"]').value);
    // One request for the post; each file's bar fills as the bytes before and within it are sent.
    const offsets = []; let total = 0;
    prepared.forEach((file) => { offsets.push(total); total += file.size; });
    const bars = list.querySelectorAll("progress");
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/posts");
    request.setRequestHeader("X-CSRF-Token", csrfToken());
    request.upload.addEventListener("progress", (progress) => {
      const sent = progress.loaded * (total / (progress.total || total));
      prepared.forEach((file, index) => {
        bars[index].value = Math.max(0, Math.min(100, ((sent - offsets[index]) / file.size) * 100));
      });
    });
    request.addEventListener("load", () => {
      let payload = {};
      try { payload = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status === 201) { window.location.assign(`/p/${payload.id}`); return; }
      bars.forEach((bar) => { bar.value = 0; });
      showError(payload.error?.message || `Upload failed (${request.status}).`);
    });
    request.addEventListener("error", () => showError("The upload was interrupted. Check your connection and try again."));
    request.send(body);
  });

  function showError(message) {
    errorBox.textContent = message;
    errorBox.classList.remove("hidden");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupFlashes();
  setupInfiniteScroll();
  setupSimilar();
  setupLikes();
  setupUpload();
});

// Moderation queue: j/k move between items, a approves, r jumps to the reason box (Enter rejects).
document.addEventListener("DOMContentLoaded", () => {
  const queue = document.querySelector("[data-queue]");
  if (!queue) return;
  const items = () => Array.from(queue.querySelectorAll("[data-queue-item]"));
  items()[0]?.focus();
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape") event.target.closest("[data-queue-item]")?.focus();
      return;
    }
    const all = items();
    const current = document.activeElement.closest?.("[data-queue-item]") || all[0];
    if (!current) return;
    const index = all.indexOf(current);
    if (event.key === "j") all[Math.min(index + 1, all.length - 1)].focus();
    else if (event.key === "k") all[Math.max(index - 1, 0)].focus();
    else if (event.key === "a") current.querySelector("[data-approve]").requestSubmit();
    else if (event.key === "r") current.querySelector('[data-reject] input[name="reason"]').focus();
    else return;
    event.preventDefault();
  });
});
