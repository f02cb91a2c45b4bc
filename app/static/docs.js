// Starts Swagger UI on /docs (a file, not an inline script: the page's CSP allows none).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // No validator badge: it would send the document to a third party.
  validatorUrl: null,
});
