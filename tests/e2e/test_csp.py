"""End to end in a real browser: the main pages run under the Content-Security-Policy with no
violation and no console error, and every page carries the security headers."""

import pytest
from django.contrib.auth.models import User

from releasemgr.roles import RELEASE_MANAGER
from tests.conftest import PASSWORD, make_user
from tests.factories import EnvironmentFactory, ReleaseFactory
from tests.metrics.history_helpers import world
from tests.metrics.test_metrics_page import PERIOD, history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Recorded by the page itself, from before any of its own scripts run.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || ""}:${e.lineNumber}`);
});
"""


def test_main_pages_pass_the_content_security_policy(live_server, page, screenshot):
    alice = make_user("alice", RELEASE_MANAGER)
    User.objects.filter(pk=alice.pk).update(is_staff=True, is_superuser=True)
    envs = {
        slug: EnvironmentFactory(slug=slug, name=slug.title(), order=i, is_production=i == 2)
        for i, slug in enumerate(["staging", "production"], start=1)
    }
    w = world(envs)
    history(w)
    release = ReleaseFactory(author=alice)

    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    page.add_init_script(COLLECT_VIOLATIONS)

    login = page.goto(f"{live_server.url}/login/")
    headers = login.headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self' 'nonce-" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    pages = {
        "dashboard": "/",
        "release": release.get_absolute_url(),
        "release-form": "/releases/new/",
        "calendar": "/calendar/",
        "freeze-form": "/freezes/new/",
        "delivery": "/metrics/delivery/",
        "metrics-charts": f"/metrics/?since={PERIOD['since']}&until={PERIOD['until']}",
        "quality": "/metrics/quality/",
        "tokens": "/tokens/new/",
        "api-docs": "/api/docs/",
        "admin": "/admin/",
    }
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, f"{name}: {response.status}"
        assert "content-security-policy" in response.headers, name
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__cspViolations")
        assert violations == [], f"{name}: {violations}"
        screenshot(name)
    # Charts were drawn (Chart.js ran under the policy), and the Swagger UI rendered.
    page.goto(f"{live_server.url}{pages['metrics-charts']}")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-deployments')")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_load_state("networkidle")  # the schema is large: generated, then drawn
    assert page.locator(".swagger-ui .opblock").count() > 0
    # What used to be inline handlers still works, from static/js/app.js.
    page.goto(f"{live_server.url}/reservations/occupancy/")
    page.locator("select#weeks").select_option("8")
    page.wait_for_url("**/reservations/occupancy/?weeks=8")
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
