// Glimpse page behaviour. Loaded as a file (the CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", () => {
  // Flash messages can be dismissed.
  document.querySelectorAll("[data-dismiss]").forEach((button) => {
    button.addEventListener("click", () => button.closest("[data-flash]").remove());
  });
});
