// Starts Swagger UI on /api/v1/docs. A file of its own, not an inline script, so that the page
// works under the Content-Security-Policy (script-src 'self').
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  validatorUrl: null, // the default sends the document to an outside validator
});
