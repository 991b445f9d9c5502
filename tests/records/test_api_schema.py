"""The OpenAPI schema documents every endpoint with its bodies, generates without warnings, and the Swagger
UI works offline (its scripts come from our own /static/, from drf-spectacular-sidecar)."""

import re
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse

EXPECTED_OPERATIONS = {
    ("/api/v1/residents/{id}/", "get"): "resident_retrieve",
    ("/api/v1/residents/{id}/my-number/", "post"): "resident_my_number_reveal",
    ("/api/v1/residents/search/", "post"): "resident_search",
    ("/api/v1/residents/{id}/records/", "get"): "resident_record_list",
    ("/api/v1/residents/{id}/records/", "post"): "vaccination_record_create",
    ("/api/v1/records/{id}/", "get"): "vaccination_record_retrieve",
    ("/api/v1/records/{id}/", "patch"): "vaccination_record_update",
    ("/api/v1/imports/", "get"): "clinic_import_list",
    ("/api/v1/imports/", "post"): "clinic_import_create",
    ("/api/v1/imports/{id}/", "get"): "clinic_import_retrieve",
    ("/api/v1/imports/{id}/errors/", "get"): "clinic_import_error_list",
    # Eligibility (#5)
    ("/api/v1/eligibility/checks/", "post"): "eligibility_check_create",
    ("/api/v1/eligibility/checks/{id}/confirm/", "post"): "eligibility_check_confirm",
    ("/api/v1/eligibility/runs/{id}/", "get"): "extraction_run_retrieve",
}


@pytest.fixture
def schema(staff_client) -> dict:
    response = staff_client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def resolve(schema: dict, ref: str) -> dict:
    assert ref.startswith("#/components/schemas/")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_the_schema_lists_every_endpoint(schema):
    operations = {
        (path, method): operation["operationId"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/v1/")
    }
    assert operations == EXPECTED_OPERATIONS


@pytest.mark.parametrize(
    ("operation", "field"),
    [
        (("/api/v1/residents/search/", "post"), "kana"),
        (("/api/v1/residents/{id}/records/", "post"), "vaccinated_on"),
        (("/api/v1/records/{id}/", "patch"), "vaccinated_on"),
    ],
)
def test_writes_document_a_json_request_body(schema, operation, field):
    path, method = operation
    content = schema["paths"][path][method]["requestBody"]["content"]
    assert list(content) == ["application/json"]
    component = resolve(schema, content["application/json"]["schema"]["$ref"])
    assert field in component["properties"]


@pytest.mark.parametrize("operation", sorted(EXPECTED_OPERATIONS))
def test_every_operation_documents_its_success_and_error_bodies(schema, operation):
    path, method = operation
    responses = schema["paths"][path][method]["responses"]
    success = responses.get("201") or responses["200"]
    assert success["content"]["application/json"]["schema"]
    for code in ("401", "403"):
        schema_ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
        assert schema_ref == "#/components/schemas/Error"
    if method in {"post", "patch"}:
        assert "400" in responses


def test_record_bodies_use_codes_dates_and_the_year_month(schema):
    record_create = schema["components"]["schemas"]["VaccinationRecordCreateRequest"]["properties"]
    assert record_create["clinic"]["type"] == "string"
    assert record_create["vaccine"]["type"] == "string"
    assert record_create["billing_month"]["pattern"] == r"^\d{4}-(0[1-9]|1[0-2])$"
    record = schema["components"]["schemas"]["VaccinationRecord"]["properties"]
    assert record["vaccinated_on"]["format"] == "date"


def test_no_documented_response_can_carry_a_full_my_number(schema):
    """Except the reveal endpoint's answer, the one response that carries it on purpose (with a reason)."""
    carrying = {name for name, component in schema["components"]["schemas"].items()
                if not name.endswith("Request") and "my_number" in component.get("properties", {})}
    assert carrying == {"MyNumberReveal"}
    reveal = schema["paths"]["/api/v1/residents/{id}/my-number/"]["post"]
    assert reveal["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/MyNumberReveal")


def test_both_authentication_schemes_are_documented(schema):
    assert set(schema["components"]["securitySchemes"]) == {"cookieAuth", "tokenAuth", "clinicTokenAuth"}


def test_spectacular_validates_without_warnings(tmp_path: Path, db):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn raises on any warning or error the generator reports; --validate checks the result
    # against the OpenAPI 3 JSON schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert {(p, m) for p, item in document["paths"].items() for m in item} >= set(EXPECTED_OPERATIONS)


class TestSwaggerUi:
    def test_the_page_loads_its_scripts_and_styles_from_static(self, staff_client):
        response = staff_client.get(reverse("api:docs"))
        assert response.status_code == 200
        html = response.content.decode()
        sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in sources
        assert all(src.startswith("/static/") for src in sources), sources
        assert "cdn" not in html.lower()
        assert "https://" not in html and "http://" not in html

    def test_the_static_files_it_needs_are_installed(self):
        for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
            assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{name}") is not None, name

    def test_the_page_points_at_our_schema(self, staff_client):
        html = staff_client.get(reverse("api:docs")).content.decode()
        assert reverse("api:schema").replace("/", "\\u002F") in html or reverse("api:schema") in html
