"""Packaging rules: artifact scan and secret refusal, checksums, configuration sets, migration
advice, rollback packages and the gate's ``rollback_package`` check, packaging advice."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from releases import gate, packaging
from releases.models import Artifact, CompensatingScript, ConfigSet, Deployment, RollbackPackage
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ScopeItemFactory
from tests.releases import builders

SHA = "a" * 64
SHA_B = "b" * 64


def artifact(release, service, **extra):
    data = {
        "release": release,
        "service": service,
        "kind": "container_image",
        "name": "registry/payments-api",
        "version": "1.4.2",
        "sha256": SHA,
    }
    data.update(extra)
    return data


# --- artifacts: checksums, versions, scan -----------------------------------------------------


def test_an_artifact_with_version_and_checksum_is_recorded_with_history(
    draft_release, payments, dave
):
    recorded = packaging.add_artifact(dave, **artifact(draft_release, payments, sha256=SHA.upper()))

    assert recorded.sha256 == SHA
    row = recorded.history.first()
    assert (row.history_user, row.history_change_reason) == (dave, "Artifact recorded")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sha256", "", "needs its SHA-256 checksum"),
        ("sha256", "d41d8cd98f00b204e9800998ecf8427e", "exactly 64 hexadecimal"),
        ("sha256", "z" * 64, "exactly 64 hexadecimal"),
        ("version", "one.two", "Enter a version"),
    ],
)
def test_an_artifact_with_a_bad_checksum_or_version_is_refused_and_nothing_is_written(
    draft_release, payments, dave, field, value, message
):
    with pytest.raises(ValidationError) as exc:
        packaging.add_artifact(dave, **artifact(draft_release, payments, **{field: value}))

    assert message in " ".join(exc.value.message_dict[field])
    assert not Artifact.objects.exists()


@pytest.mark.parametrize(
    ("line", "looks_like"),
    [
        ("aws_key: AKIAABCDEFGHIJKLMNOP", "AWS access key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
        ("DB_PASSWORD=hunter2", "literal value for 'DB_PASSWORD'"),
        ("auth: eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4", "JSON Web Token"),
    ],
)
def test_an_artifact_embedding_a_secret_is_refused_naming_the_line(
    draft_release, payments, dave, line, looks_like
):
    content = f"image: payments\n{line}\n"

    with pytest.raises(ValidationError) as exc:
        packaging.add_artifact(
            dave, **artifact(draft_release, payments, kind="config_bundle", content=content)
        )

    message = exc.value.message_dict["content"][0]
    assert message.startswith("Line 2:")
    assert looks_like in message
    assert "hunter2" not in message and "AKIAABCDEFGHIJKLMNOP" not in message
    assert not Artifact.objects.exists()


def test_a_reference_to_a_secret_is_not_a_secret(draft_release, payments, dave):
    content = "DB_PASSWORD=vault:payments/db\napi_token: ${API_TOKEN}\ntoken_ttl: 60\n"

    recorded = packaging.add_artifact(dave, **artifact(draft_release, payments, content=content))

    assert packaging.scan_artifact(recorded).allowed


def test_environment_specific_values_in_an_artifact_are_flagged_per_line(
    draft_release, payments, dave
):
    content = (
        "replicas: 3\n"
        "db: postgres://db.prod.example.com/payments\n"
        "cache: 10.20.30.40\n"
        "prod_feature_flag: on\n"
        "listen: 0.0.0.0\n"
    )
    recorded = packaging.add_artifact(dave, **artifact(draft_release, payments, content=content))

    flags = packaging.scan_artifact(recorded).failed

    assert [(r.code, r.data["line"]) for r in flags] == [
        ("environment_specific", 2),
        ("environment_specific", 3),
        ("environment_specific", 4),
    ]
    assert "configuration set" in flags[0].message


def test_an_artifact_cannot_be_changed_to_embed_a_secret(draft_release, payments, dave):
    recorded = packaging.add_artifact(dave, **artifact(draft_release, payments))

    with pytest.raises(ValidationError):
        packaging.update_artifact(dave, recorded, content="password: s3cret")

    recorded.refresh_from_db()
    assert recorded.content == ""


# --- configuration sets -------------------------------------------------------------------------


def test_a_config_set_keeps_settings_and_secret_references(payments, environments, alice):
    values = {"replicas": 4, "db_host": "db.prod.internal", "db_password": "vault:payments/db"}

    saved = packaging.save_config_set(
        alice, service=payments, environment=environments["production"], version="3", values=values
    )

    assert saved.values == values
    assert packaging.mask_values(saved.values) == values


def test_a_config_set_with_a_literal_secret_is_refused_without_repeating_it(
    payments, environments, alice
):
    with pytest.raises(ValidationError) as exc:
        packaging.save_config_set(
            alice,
            service=payments,
            environment=environments["staging"],
            version="1",
            values={"db_password": "hunter2", "aws": "AKIAABCDEFGHIJKLMNOP"},
        )

    messages = exc.value.message_dict["values"]
    assert len(messages) == 2 and "'db_password' holds a literal secret" in messages[0]
    assert "hunter2" not in " ".join(messages)
    assert not ConfigSet.objects.exists()


def test_the_same_config_set_version_twice_is_refused(payments, environments, alice):
    data = {"service": payments, "environment": environments["dev"], "version": "1"}
    packaging.save_config_set(alice, values={"a": 1}, **data)

    with pytest.raises(ValidationError):
        packaging.save_config_set(alice, values={"a": 2}, **data)

    assert ConfigSet.objects.count() == 1


# --- migration plans and advice ------------------------------------------------------------------


@pytest.fixture
def migration_item(draft_release, payments):
    return ScopeItemFactory(
        release=draft_release, service=payments, kind="schema_migration", title="Add refunds table"
    )


def test_a_backward_compatible_migration_is_advised_to_ship_bundled(migration_item, dave):
    plan = packaging.save_migration_plan(
        dave,
        scope_item=migration_item,
        backward_compatible=True,
        phase="expand",
        delivery="bundled",
    )

    advice = packaging.migration_advice(migration_item, plan)

    assert advice.recommendation == "bundled"
    assert advice.allowed
    assert "ship with the application deployment" in advice.reasons[0].message
    assert (
        advice.reasons[-1].message == "Chosen: bundled with the application deployment, as advised."
    )


def test_a_breaking_migration_is_advised_as_separate_steps_and_a_bundled_choice_is_flagged(
    migration_item, dave
):
    plan = packaging.save_migration_plan(
        dave,
        scope_item=migration_item,
        backward_compatible=False,
        phase="contract",
        delivery="bundled",
        reason="one window only",
    )

    advice = packaging.migration_advice(migration_item, plan)

    assert advice.recommendation == "separate_step_before"
    assert "expand/contract" in advice.reasons[0].message
    chosen = advice.reasons[-1]
    assert (chosen.code, chosen.passed) == ("delivery", False)
    assert "against the advice (one window only)" in chosen.message


def test_a_migration_plan_belongs_to_a_schema_migration_scope_item(draft_release, dave):
    feature = ScopeItemFactory(release=draft_release, kind="feature")

    with pytest.raises(ValidationError) as exc:
        packaging.save_migration_plan(
            dave, scope_item=feature, backward_compatible=True, phase="expand", delivery="bundled"
        )

    assert "schema-migration scope item" in exc.value.message_dict["scope_item"][0]


def test_a_scope_item_without_a_plan_is_asked_for_one(migration_item):
    advice = packaging.migration_advice(migration_item)

    assert [r.code for r in advice.failed] == ["migration_plan"]


# --- rollback package and the gate ---------------------------------------------------------------


@pytest.fixture
def staged_with_migration(approved_release, payments, bob, env_list, dave):
    """payments 1.4.2 approved, deployed up to staging, shipping a DB migration."""
    builders.promote_through(approved_release, env_list[:3], bob)
    migration = packaging.add_artifact(
        dave,
        **artifact(
            approved_release, payments, kind="db_migration", name="V42__refunds", sha256=SHA_B
        ),
    )
    return approved_release, migration


def test_a_production_release_with_a_migration_and_no_compensating_script_is_prevented(
    staged_with_migration, payments, pipeline, env_list
):
    result = gate.ask(payments, "1.4.2", env_list[3], pipeline)

    assert result.status == "prevented"
    failed = [c for c in result.checks if not c["passed"]]
    assert [c["code"] for c in failed] == ["rollback_package"]
    assert "V42__refunds 1.4.2" in failed[0]["message"]


def test_a_compensating_script_opens_production(
    staged_with_migration, payments, pipeline, env_list, dave
):
    _release, migration = staged_with_migration
    script = packaging.add_compensating_script(
        dave, artifact=migration, script="DROP TABLE refunds;", tested=True
    )

    result = gate.ask(payments, "1.4.2", env_list[3], pipeline)

    assert result.status == "allowed"
    assert len(script.sha256) == 64


def test_the_migration_check_does_not_apply_before_production(
    staged_with_migration, env_list, pipeline
):
    release, _migration = staged_with_migration

    assert packaging.check_rollback_package(release, env_list[2]).passed


def test_a_compensating_script_undoes_a_migration_artifact_only(draft_release, payments, dave):
    image = packaging.add_artifact(dave, **artifact(draft_release, payments))

    with pytest.raises(ValidationError) as exc:
        packaging.add_compensating_script(dave, artifact=image, script="DROP TABLE x;")

    assert "undoes a DB migration" in exc.value.message_dict["artifact"][0]
    assert not CompensatingScript.objects.exists()


def test_a_stored_compensating_script_needs_its_checksum(staged_with_migration, dave):
    _release, migration = staged_with_migration

    with pytest.raises(ValidationError) as exc:
        packaging.add_compensating_script(dave, artifact=migration, uri="s3://scripts/undo.sql")

    assert "SHA-256" in exc.value.message_dict["sha256"][0]


def test_the_rollback_package_holds_the_previous_production_artifacts_and_scripts(
    payments, dave, carol, bob, alice, env_list
):
    previous = ReleaseFactory(author=dave, version="1.4.1", services=[(payments, "1.4.1")])
    packaging.add_artifact(dave, **artifact(previous, payments, version="1.4.1"))
    builders.approve(previous, dave, carol)
    builders.promote_through(previous, env_list, bob)
    current = ReleaseFactory(author=dave, version="1.4.2", services=[(payments, "1.4.2")])
    migration = packaging.add_artifact(
        dave, **artifact(current, payments, kind="db_migration", name="V42", sha256=SHA_B)
    )

    contents = packaging.rollback_package(current)

    (service,) = contents["services"]
    assert (service["service"], service["previous_release"], service["previous_version"]) == (
        "payments-api",
        previous.key,
        "1.4.1",
    )
    assert service["artifacts"] == [
        {
            "kind": "container_image",
            "name": "registry/payments-api",
            "version": "1.4.1",
            "sha256": SHA,
            "uri": "",
        }
    ]
    assert contents["missing_compensation"] == ["V42 1.4.2"] and not contents["complete"]

    packaging.add_compensating_script(dave, artifact=migration, script="DROP TABLE refunds;")
    package = packaging.build_rollback_package(current, alice)

    assert package.contents["complete"] is True
    assert package.contents["migrations"][0]["scripts"][0]["tested"] is False
    assert RollbackPackage.objects.get(release=current).built_by == alice
    packaging.build_rollback_package(current, alice)
    assert RollbackPackage.objects.count() == 1


def test_a_first_release_has_no_previous_version_to_return_to(draft_release):
    (service,) = packaging.rollback_package(draft_release)["services"]

    assert service["previous_release"] is None and service["artifacts"] == []


# --- packaging advice -------------------------------------------------------------------------


def _production_deployments(release, environment, count, started_by, now):
    for n in range(count):
        Deployment.objects.create(
            release=release,
            environment=environment,
            status="succeeded",
            started_by=started_by,
            started_at=now - timedelta(days=n * 80 / max(count, 1) + 1),
        )


def test_frequent_automated_deployments_get_modular_packaging(
    draft_release, payments, pipeline, bob, environments
):
    now = timezone.now()
    _production_deployments(draft_release, environments["production"], 18, pipeline, now)
    _production_deployments(draft_release, environments["production"], 2, bob, now)

    advice = packaging.packaging_advice(payments, now)

    assert advice.recommendation == "modular"
    assert advice.data == {"deployments": 20, "per_week": 1.56, "automated_share": 0.9}
    assert "20 production deployments in 90 days (1.56/week" in advice.reasons[0].message


def test_frequent_manual_deployments_stay_monolithic_until_automated(
    draft_release, payments, bob, environments
):
    now = timezone.now()
    _production_deployments(draft_release, environments["production"], 20, bob, now)

    advice = packaging.packaging_advice(payments, now)

    assert advice.recommendation == "monolithic"
    assert [r.code for r in advice.failed] == ["automation"]
    assert "until deployments are automated" in advice.reasons[-1].message


def test_rare_deployments_stay_monolithic_and_old_or_other_deployments_do_not_count(
    draft_release, payments, pipeline, environments
):
    now = timezone.now()
    _production_deployments(draft_release, environments["production"], 3, pipeline, now)
    _production_deployments(draft_release, environments["staging"], 30, pipeline, now)
    Deployment.objects.create(
        release=draft_release,
        environment=environments["production"],
        status="succeeded",
        started_by=make_user("robot", "pipeline"),
        started_at=now - timedelta(days=120),
    )

    advice = packaging.packaging_advice(payments, now)

    assert advice.recommendation == "monolithic"
    assert advice.data["deployments"] == 3
    assert "infrequent" in advice.reasons[-1].message
