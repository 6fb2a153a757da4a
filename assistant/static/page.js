() => {
  // Page-wide behaviour, run once when the app loads. Files dropped anywhere on the chat (or on the Corpus tab)
  // are checked here first: unsupported or oversized ones are named next to the upload area, the rest go to
  // the tab's upload component, which adds them at once. CONFIG comes from what ingest supports.
  const CONFIG = __CONFIG__;
  // Focusing the collection picker selects its text, so typing a name replaces the shown choice.
  document.addEventListener("focusin", (event) => {
    if (event.target.matches && event.target.matches("#collection-picker input")) event.target.select();
  });
  if (CONFIG.readOnly) return;  // a read-only server takes no documents: dropping files does nothing
  const AREAS = { upload: "#corpus-status", "collection-row": "#attach-status" };

  function problem(file) {
    const dot = file.name.lastIndexOf(".");
    const suffix = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
    if (!CONFIG.types.includes(suffix)) {
      return `${file.name}: unsupported file type; add ${CONFIG.types.join(", ")} files`;
    }
    if (file.size > CONFIG.maxBytes) {
      return `${file.name}: ${(file.size / 1048576).toFixed(1)} MB is over the ${CONFIG.maxMb} MB upload limit`;
    }
    return "";
  }

  // Messages for files the browser turned away, shown just under that area's status line.
  function report(area, messages) {
    const anchor = document.querySelector(AREAS[area]);
    if (!anchor) return;
    let box = document.getElementById(`${area}-rejected`);
    if (!box) {
      box = document.createElement("div");
      box.id = `${area}-rejected`;
      box.className = "client-status";
      box.setAttribute("role", "alert");
      anchor.insertAdjacentElement("afterend", box);
    }
    box.replaceChildren(...messages.map((m) => {
      const line = document.createElement("div");
      line.className = "status error";
      line.textContent = `Not added: ${m}`;
      return line;
    }));
  }

  function areaOf(input) {
    const host = input.closest("#upload, #collection-row");
    return host ? host.id : null;
  }

  // Keep only acceptable files on the input; returns whether any are left.
  function screen(input, files) {
    const area = areaOf(input);
    const good = files.filter((f) => !problem(f));
    report(area, files.map(problem).filter(Boolean));
    const transfer = new DataTransfer();
    good.forEach((f) => transfer.items.add(f));
    input.files = transfer.files;
    return good.length > 0;
  }

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !areaOf(input)) return;
    if (input.dataset.screened) {
      delete input.dataset.screened;
      return;
    }
    if (!screen(input, Array.from(input.files || []))) {
      event.stopImmediatePropagation();
      input.value = "";
    }
  }, true);

  function dropTarget(event) {
    const corpus = event.target.closest && event.target.closest("#upload, #corpus-table, #remove-row");
    const selector = corpus ? "#upload input[type=file]" : "#collection-row input[type=file]";
    return document.querySelector(selector);
  }

  const hasFiles = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files");
  let depth = 0;
  window.addEventListener("dragenter", (e) => { if (hasFiles(e)) { depth += 1; document.body.classList.add("dropping"); } }, true);
  window.addEventListener("dragleave", (e) => {
    if (hasFiles(e) && --depth <= 0) { depth = 0; document.body.classList.remove("dropping"); }
  }, true);
  window.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); }, true);
  window.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.stopPropagation();
    depth = 0;
    document.body.classList.remove("dropping");
    const input = dropTarget(event);
    if (!input || !screen(input, Array.from(event.dataTransfer.files))) return;
    input.dataset.screened = "1";
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }, true);
}
