"""GET /api/openapi.json (generated from the code) and GET /api/docs (Swagger UI, served offline).

The route checks read ``app.url_map``, so a route added later is checked without editing this file.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from openapi_spec_validator import validate

from app.openapi import TOKEN_REFUSED, Api, Blueprint

SPEC_URL = "/api/openapi.json"
DOCS_URL = "/api/docs"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
}
# Rules that are not API operations: files, and the operators' /metrics (kept out of the document).
UNDOCUMENTED_ENDPOINTS = {"docs.asset", "metrics.scrape"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
ERROR_ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_PARAM = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def spec(client):
    response = client.get(SPEC_URL)
    assert response.status_code == 200
    return response.get_json()


def openapi_path(rule: str) -> str:
    return _PARAM.sub(lambda m: "{" + m["name"] + "}", rule)


def example_url(rule: str) -> str:
    """The rule with every parameter filled with a value of the right kind."""
    return _PARAM.sub(lambda m: "1" if m["converter"] == "int" else f"no-such-{m['name']}", rule)


def routes(app: Flask) -> set[tuple[str, str, str]]:
    """(Flask rule, OpenAPI path, lower-case method) of every API operation the app serves."""
    found = set()
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint == "static" or endpoint.endswith(".static"):
            continue
        if endpoint in UNDOCUMENTED_ENDPOINTS:
            continue
        for method in (rule.methods or set()) - IGNORED_METHODS:
            found.add((rule.rule, openapi_path(rule.rule), method.lower()))
    return found


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def resolve(spec, obj):
    """Follow a local ``$ref`` (one level is all the document uses)."""
    if "$ref" in obj:
        node = spec
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return node
    return obj


def json_schema(spec, response) -> dict | None:
    return resolve(spec, response).get("content", {}).get("application/json", {}).get("schema")


def refused_without_token(app, client) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every operation that answers an anonymous caller with 401."""
    refused = set()
    for rule, path, method in routes(app):
        response = client.open(example_url(rule), method=method.upper())
        if response.status_code == 401:
            refused.add((path, method))
    return refused


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.event_handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.event_handlers += [name for name in attributes if name.startswith("on")]
        self.urls += [attributes[name] for name in ("src", "href") if attributes.get(name)]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def docs_page(client) -> tuple[str, _Links]:
    response = client.get(DOCS_URL)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    links = _Links()
    links.feed(html)
    return html, links


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


# --- the document --------------------------------------------------------------------------------


def test_document_is_a_valid_openapi_3_document(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises on any violation of the OpenAPI 3 schema


def test_document_lists_every_route_with_its_methods(app, spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    served = {(path, method) for _, path, method in routes(app)}
    assert (SPEC_URL, "get") in served and (DOCS_URL, "get") in served
    assert served - documented == set()


def test_document_lists_no_route_the_app_does_not_serve(app, spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    served = {(path, method) for _, path, method in routes(app)}
    assert documented - served == set()


def test_document_declares_the_token_security_scheme(spec):
    assert spec["components"]["securitySchemes"]["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Token <jwt>` (or `Bearer <jwt>`)",
    }


def test_operations_that_refuse_anonymous_callers_declare_token_security(app, client, spec):
    refused = refused_without_token(app, client)
    assert ("/api/user", "get") in refused  # the probe does find protected operations
    item = spec["paths"]
    undeclared = {
        (path, method)
        for path, method in refused
        if {"Token": []} not in item[path][method].get("security", [])
    }
    assert undeclared == set()


def test_operations_that_refuse_anonymous_callers_document_401(app, client, spec):
    refused = refused_without_token(app, client)
    assert ("/api/user", "get") in refused
    undocumented = {
        (path, method)
        for path, method in refused
        if "401" not in spec["paths"][path][method]["responses"]
    }
    assert undocumented == set()


def test_every_client_error_response_has_the_error_envelope_schema(spec):
    wrong = {
        (path, method, status): json_schema(spec, response)
        for path, method, operation in operations(spec)
        for status, response in operation["responses"].items()
        if status.startswith("4") or status == "default"
    }
    assert wrong, "the document declares no error response at all"
    assert {key: schema for key, schema in wrong.items() if schema != ERROR_ENVELOPE} == {}


def test_operations_with_a_json_body_document_400_and_422(spec):
    with_body = [
        (path, method, operation)
        for path, method, operation in operations(spec)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert with_body, "the document has no operation with a JSON body"
    missing = {
        (path, method): sorted({"400", "422"} - operation["responses"].keys())
        for path, method, operation in with_body
        if {"400", "422"} - operation["responses"].keys()
    }
    assert missing == {}


def test_health_503_is_documented_with_the_probe_body_not_the_error_envelope(spec):
    readiness = spec["paths"]["/health"]["get"]["responses"]
    assert json_schema(spec, readiness["503"]) == {"$ref": "#/components/schemas/HealthReadiness"}


# --- the helper route modules use ---------------------------------------------------------------


def _document_of(blueprint: Blueprint) -> dict:
    app = Flask("openapi-probe")
    app.config.update(API_TITLE="probe", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    api.register_blueprint(blueprint)
    return api.spec.to_dict()


def _probe_operation(decorate) -> dict:
    blp = Blueprint("probe", __name__)

    @blp.route("/things", methods=["GET"])
    @decorate(blp)
    @blp.response(200)
    def things():
        return None

    return _document_of(blp)["paths"]["/things"]["get"]


def test_requires_token_declares_the_token_and_documents_the_401():
    operation = _probe_operation(lambda blp: blp.requires_token())

    assert operation["security"] == [{"Token": []}]
    assert operation["responses"]["401"] == {
        "description": TOKEN_REFUSED,
        "content": {"application/json": {"schema": ERROR_ENVELOPE}},
    }


def test_requires_token_takes_the_401_description_of_its_route():
    operation = _probe_operation(lambda blp: blp.requires_token(description="Spent token"))

    assert operation["responses"]["401"]["description"] == "Spent token"


def test_optional_token_declares_anonymous_or_token_and_documents_the_401():
    operation = _probe_operation(lambda blp: blp.optional_token())

    assert operation["security"] == [{}, {"Token": []}]
    assert operation["responses"]["401"]["content"] == {
        "application/json": {"schema": ERROR_ENVELOPE}
    }


def test_operations_that_accept_a_token_document_its_401(app, client, spec):
    """A bad token is refused wherever a token is read, also where none is required."""
    rejected = set()
    for rule, path, method in routes(app):
        response = client.open(
            example_url(rule), method=method.upper(), headers={"Authorization": "Token bad"}
        )
        if response.status_code == 401:
            rejected.add((path, method))
    assert ("/api/articles", "get") in rejected  # an optional-token route refuses a bad one
    undocumented = {
        (path, method)
        for path, method in rejected
        if "401" not in spec["paths"][path][method]["responses"]
    }
    assert undocumented == set()


def test_alt_response_keeps_an_explicit_schema_for_an_error_status():
    blp = Blueprint("probe", __name__)

    @blp.route("/things", methods=["GET"])
    @blp.response(200)
    @blp.alt_response(503, schema={"type": "string"}, description="Down")
    def things():
        return None

    responses = _document_of(blp)["paths"]["/things"]["get"]["responses"]
    assert json_schema({}, responses["503"]) == {"type": "string"}


# --- the interactive docs ------------------------------------------------------------------------


def test_docs_page_references_only_assets_of_this_service(client):
    html, links = docs_page(client)
    assert any(url.endswith(".js") for url in links.urls)
    assert any(url.endswith(".css") for url in links.urls)
    assert [url for url in links.urls if not url.startswith("/") or url.startswith("//")] == []
    assert re.findall(r"https?://\S+", html) == []


def test_docs_page_has_no_inline_script_or_event_handler(client):
    _, links = docs_page(client)
    assert links.inline_scripts == []
    assert links.event_handlers == []


@pytest.mark.parametrize("suffix", sorted(CONTENT_TYPES))
def test_docs_assets_are_served_with_their_content_type(client, suffix):
    _, links = docs_page(client)
    assets = [url for url in links.urls if url.endswith(suffix)]
    assert assets, f"the docs page references no {suffix} file"
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == CONTENT_TYPES[suffix], url
        assert len(response.data) > 0, url


def test_docs_page_points_swagger_ui_at_the_generated_document(client):
    html, _ = docs_page(client)
    spec_url = re.search(r'data-spec-url="([^"]+)"', html)
    assert spec_url and spec_url[1] == SPEC_URL
    initializer = client.get("/api/docs/assets/swagger-initializer.js").get_data(as_text=True)
    assert "SwaggerUIBundle(" in initializer and "data-spec-url" in initializer


def test_docs_serve_no_file_outside_their_list(client):
    # oauth2-redirect.html ships in the same package folder, with an inline script.
    response = client.get("/api/docs/assets/oauth2-redirect.html")
    assert response.status_code == 404
    assert response.get_json() == {"errors": {"body": ["not found"]}}


def test_docs_page_has_a_narrow_csp_without_unsafe_sources(client):
    response = client.get(DOCS_URL)
    assert csp_directives(response.headers["Content-Security-Policy"]) == DOCS_CSP


@pytest.mark.parametrize(
    "url", [SPEC_URL, "/api/user", "/ping", "/api/docs/assets/swagger-ui-bundle.js"]
)
def test_everything_but_the_docs_page_keeps_the_strict_csp(client, url):
    response = client.get(url)
    assert response.headers["Content-Security-Policy"] == API_CSP
