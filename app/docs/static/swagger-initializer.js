// Starts Swagger UI on /api/docs. It is a file, not an inline script, so the page's
// Content-Security-Policy can keep script-src 'self'.
window.addEventListener("load", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    // Swagger UI would otherwise load a badge image from a public validator service.
    validatorUrl: null,
  });
});
