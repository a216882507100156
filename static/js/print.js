// The printable page's Print button. A static script, not an onclick attribute: the content
// policy refuses inline handlers.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
