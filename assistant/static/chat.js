// Runs once when the conversation component loads (`element` is its root). Event delegation keeps the
// handlers working as the conversation HTML is replaced while answers stream in.
element.addEventListener("click", (event) => {
  const chip = event.target.closest(".cite-chip");
  if (chip) {
    const answer = chip.closest(".answer");
    const n = chip.dataset.cite;
    const panel = answer.querySelector(`.cite-panel[data-cite="${n}"]`);
    const opening = panel.hidden;
    answer.querySelectorAll(".cite-panel").forEach((p) => { p.hidden = true; });
    answer.querySelectorAll(".cite-chip").forEach((c) => c.classList.remove("active"));
    panel.hidden = !opening;
    chip.classList.toggle("active", opening);
    if (opening) panel.scrollIntoView({ block: "nearest" });
    return;
  }
  const copy = event.target.closest(".copy-btn");
  if (copy) {
    const text = copy.dataset.copy;
    const done = () => { copy.textContent = "Copied"; setTimeout(() => { copy.textContent = "Copy answer"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  }
});
