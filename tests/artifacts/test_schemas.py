"""Category data schemas and file rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from debusine.artifacts.categories import (
    ArtifactCategory,
    BareDataCategory,
    is_reserved_category,
)
from debusine.artifacts.schemas import (
    ARTIFACT_SCHEMAS,
    BARE_DATA_SCHEMAS,
    InvalidArtifactData,
    InvalidArtifactFiles,
    UnknownCategory,
    validate_artifact_data,
    validate_artifact_files,
    validate_asset_data,
    validate_bare_data,
)
from debusine.models.assets import AssetCategory
from debusine.models.validation import DomainError

TARBALL = {
    "filename": "system.tar.xz",
    "vendor": "debian",
    "codename": "bookworm",
    "components": ["main"],
    "mirror": "http://deb.debian.org/debian",
    "variant": "buildd",
    "pkglist": {"base-files": "12.4+deb12u5"},
    "architecture": "amd64",
    "with_dev": True,
    "with_init": False,
}

ARTIFACT_EXAMPLES: dict[str, dict[str, Any]] = {
    "debian:source-package": {
        "name": "hello",
        "version": "2.10-3",
        "type": "dpkg",
        "dsc_fields": {
            "Source": "hello",
            "Files": [{"md5sum": "ab", "size": "1", "name": "hello_2.10.orig.tar.gz"}],
        },
    },
    "debian:binary-package": {
        "srcpkg_name": "hello",
        "srcpkg_version": "2.10-3",
        "deb_fields": {"Package": "hello", "Version": "2.10-3"},
        "deb_control_files": ["control", "md5sums"],
    },
    "debian:binary-packages": {
        "srcpkg_name": "hello",
        "srcpkg_version": "2.10-3",
        "version": "2.10-3+b1",
        "architecture": "amd64",
        "packages": ["hello", "hello-dbgsym"],
    },
    "debian:upload": {
        "type": "dpkg",
        "changes_fields": {"Source": "hello", "Architecture": "source"},
    },
    "debian:package-build-log": {
        "source": "hello",
        "version": "2.10-3",
        "architecture": "amd64",
        "filename": "hello_2.10-3_amd64.buildlog",
        "bd_uninstallable": None,
    },
    "debian:lintian": {
        "architecture": "source",
        "summary": {
            "tags_count_by_severity": {"error": 0, "warning": 2},
            "package_filename": {"hello": "hello_2.10-3.dsc"},
            "tags_found": ["a-tag"],
            "overridden_tags_found": [],
            "lintian_version": "2.116.3",
            "distribution": "bookworm",
        },
    },
    "debian:autopkgtest": {
        "results": {"upstream": {"status": "PASS", "details": None}},
        "cmdline": "autopkgtest hello.dsc -- null",
        "source_package": {"name": "hello", "version": "2.10-3", "url": None},
        "architecture": "amd64",
        "distribution": "debian:bookworm",
    },
    "debian:blhc": {},
    "debian:debdiff": {"original": "hello_1.dsc", "new": "hello_2.dsc"},
    "debian:system-tarball": TARBALL,
    "debian:system-image": {
        **TARBALL,
        "filename": "image.tar.xz",
        "image_format": "raw",
        "filesystem": "ext4",
        "size": 2147483648,
        "boot_mechanism": "efi",
    },
    "debian:repository-index": {"path": "dists/bookworm/Release"},
    "debusine:signing-input": {
        "trusted_certs": ["abcd"],
        "binary_package_name": "grub-efi-amd64-signed",
    },
    "debusine:signing-output": {
        "purpose": "uefi",
        "fingerprint": "ABCDEF",
        "results": [
            {"file": "a/b.efi", "output_file": "a/b.efi.sig", "error_message": None},
            {"file": "a/c.efi", "output_file": None, "error_message": "failed"},
        ],
        "binary_package_name": None,
    },
    "debusine:work-request-debug-logs": {},
    "debusine:test": {"anything": [1, 2, {"x": None}]},
}

BARE_EXAMPLES: dict[str, dict[str, Any]] = {
    "debusine:promise": {
        "promise_work_request_id": 12,
        "promise_workflow_id": 10,
        "promise_category": "debian:binary-package",
        "architecture": "amd64",
    },
    "debusine:historical-task-run": {
        "task_type": "Worker",
        "task_name": "sbuild",
        "subject": "hello",
        "context": "amd64",
        "timestamp": 1700000000,
        "work_request_id": 42,
        "result": "success",
        "runtime_statistics": {"duration": 12},
    },
    "debusine:task-configuration": {
        "task_type": "Worker",
        "task_name": "sbuild",
        "subject": "hello",
        "context": None,
        "default_values": {"build_profiles": ["nocheck"]},
        "comment": "hello builds without tests",
    },
    "debian:package-build-log": {
        "source": "hello",
        "version": "2.10-3",
        "architecture": "amd64",
        "filename": "hello_2.10-3_amd64.buildlog",
    },
    "debian:qa-result": {
        "task_name": "lintian",
        "package": "hello",
        "version": "2.10-3",
        "architecture": "source",
        "timestamp": 1700000000,
        "work_request_id": 7,
        "result": "failure",
    },
}

# (category, field, wrong value) for the wrong-type tests.
WRONG_TYPES = [
    ("debian:source-package", "version", 2),
    ("debian:source-package", "type", "rpm"),
    ("debian:source-package", "dsc_fields", "Source: hello"),
    ("debian:binary-package", "deb_control_files", "control"),
    ("debian:binary-packages", "packages", [1]),
    ("debian:upload", "changes_fields", []),
    ("debian:package-build-log", "filename", None),
    ("debian:lintian", "summary", {"tags_found": []}),
    ("debian:autopkgtest", "results", {"t": {"status": "MAYBE"}}),
    ("debian:debdiff", "new", ["x"]),
    ("debian:system-tarball", "with_dev", "yes"),
    ("debian:system-tarball", "with_init", 1),
    ("debian:system-image", "size", 1.5),
    ("debian:system-image", "size", True),
    ("debian:system-image", "image_format", "vmdk"),
    ("debian:repository-index", "path", ""),
    ("debusine:signing-input", "trusted_certs", "abcd"),
    ("debusine:signing-output", "purpose", "magic"),
]


def test_artifact_categories_match_inventory() -> None:
    assert {c.value for c in ArtifactCategory} == set(ARTIFACT_EXAMPLES)
    assert set(ARTIFACT_SCHEMAS) == set(ARTIFACT_EXAMPLES)
    assert {c.value for c in BareDataCategory} == set(BARE_EXAMPLES)
    assert set(BARE_DATA_SCHEMAS) == set(BARE_EXAMPLES)


@pytest.mark.parametrize("category", sorted(ARTIFACT_EXAMPLES))
def test_artifact_example_valid(category: str) -> None:
    data = copy.deepcopy(ARTIFACT_EXAMPLES[category])
    loaded = validate_artifact_data(category, data)
    for key, value in ARTIFACT_EXAMPLES[category].items():
        assert loaded[key] == value


# Optional fields (nullable, with a default) of the examples.
OPTIONAL = {
    ("debian:package-build-log", "architecture"),
    ("debian:package-build-log", "bd_uninstallable"),
    ("debian:system-tarball", "variant"),
    ("debian:system-image", "variant"),
    ("debusine:signing-input", "trusted_certs"),
    ("debusine:signing-input", "binary_package_name"),
    ("debusine:signing-output", "binary_package_name"),
}


@pytest.mark.parametrize(
    ("category", "field"),
    [
        (category, field)
        for category, example in sorted(ARTIFACT_EXAMPLES.items())
        for field in example
        if category != "debusine:test" and (category, field) not in OPTIONAL
    ],
)
def test_artifact_missing_required_field(category: str, field: str) -> None:
    data = copy.deepcopy(ARTIFACT_EXAMPLES[category])
    del data[field]
    with pytest.raises(InvalidArtifactData, match=f"field '{field}'") as raised:
        validate_artifact_data(category, data)
    assert raised.value.field == field
    assert "Missing data for required field" in str(raised.value)


@pytest.mark.parametrize(("category", "field"), sorted(OPTIONAL))
def test_artifact_optional_field(category: str, field: str) -> None:
    data = copy.deepcopy(ARTIFACT_EXAMPLES[category])
    del data[field]
    assert validate_artifact_data(category, data)[field] is None


@pytest.mark.parametrize(("category", "field", "value"), WRONG_TYPES)
def test_artifact_wrong_type(category: str, field: str, value: Any) -> None:
    data = copy.deepcopy(ARTIFACT_EXAMPLES[category])
    data[field] = value
    with pytest.raises(InvalidArtifactData, match=f"field '{field}") as raised:
        validate_artifact_data(category, data)
    assert raised.value.field is not None
    assert raised.value.field.split(".")[0] == field


def test_nested_field_named() -> None:
    data = copy.deepcopy(ARTIFACT_EXAMPLES["debian:lintian"])
    del data["summary"]["lintian_version"]
    with pytest.raises(InvalidArtifactData) as raised:
        validate_artifact_data("debian:lintian", data)
    assert raised.value.field == "summary.lintian_version"


@pytest.mark.parametrize(
    "category", sorted(c for c in ARTIFACT_EXAMPLES if c != "debusine:test")
)
def test_strict_categories_refuse_unknown_keys(category: str) -> None:
    data = {**copy.deepcopy(ARTIFACT_EXAMPLES[category]), "surprise": 1}
    with pytest.raises(InvalidArtifactData, match="field 'surprise'") as raised:
        validate_artifact_data(category, data)
    assert raised.value.field == "surprise"


@pytest.mark.parametrize("key", ["not-an-identifier", "1abc", "a b", ""])
def test_keys_must_be_identifiers(key: str) -> None:
    with pytest.raises(InvalidArtifactData, match="not a valid identifier"):
        validate_artifact_data("debusine:test", {key: 1})
    with pytest.raises(InvalidArtifactData, match="not a valid identifier"):
        validate_artifact_data("example:thing", {key: 1})


def test_data_must_be_an_object() -> None:
    with pytest.raises(InvalidArtifactData, match="must be a JSON object"):
        validate_artifact_data("debian:blhc", [])  # type: ignore[arg-type]


def test_signing_result_needs_exactly_one_outcome() -> None:
    for result in (
        {"file": "a"},
        {"file": "a", "output_file": "b", "error_message": "c"},
    ):
        data = {**ARTIFACT_EXAMPLES["debusine:signing-output"], "results": [result]}
        with pytest.raises(InvalidArtifactData, match="exactly one of") as raised:
            validate_artifact_data("debusine:signing-output", data)
        assert raised.value.field == "results.0.output_file"


@pytest.mark.parametrize(
    "category", ["debian:unknown", "debusine:nothing", "debian:suite"]
)
def test_reserved_namespace_must_be_known(category: str) -> None:
    assert is_reserved_category(category)
    with pytest.raises(UnknownCategory, match="unknown artifact category"):
        validate_artifact_data(category, {})


def test_other_namespaces_take_any_data() -> None:
    data = {"anything": {"nested-key": [1]}, "n": None}
    assert validate_artifact_data("mycompany:report", data) == data
    assert validate_artifact_data("plain", {}) == {}


@pytest.mark.parametrize("category", ["", "a b", "x" * 256, "a\nb"])
def test_invalid_category_names(category: str) -> None:
    with pytest.raises(UnknownCategory):
        validate_artifact_data(category, {})


def test_errors_are_domain_errors() -> None:
    assert issubclass(InvalidArtifactData, DomainError)
    assert issubclass(UnknownCategory, DomainError)
    assert issubclass(InvalidArtifactFiles, DomainError)


# Bare data ----------------------------------------------------------------


@pytest.mark.parametrize("category", sorted(BARE_EXAMPLES))
def test_bare_example_valid(category: str) -> None:
    loaded = validate_bare_data(category, copy.deepcopy(BARE_EXAMPLES[category]))
    for key, value in BARE_EXAMPLES[category].items():
        assert loaded[key] == value


@pytest.mark.parametrize(
    ("category", "field"),
    [
        ("debusine:promise", "promise_work_request_id"),
        ("debusine:promise", "promise_category"),
        ("debusine:historical-task-run", "timestamp"),
        ("debusine:historical-task-run", "runtime_statistics"),
        ("debian:package-build-log", "source"),
        ("debian:qa-result", "work_request_id"),
        ("debian:qa-result", "result"),
        ("debusine:task-configuration", "task_name"),
    ],
)
def test_bare_missing_field(category: str, field: str) -> None:
    data = copy.deepcopy(BARE_EXAMPLES[category])
    del data[field]
    with pytest.raises(InvalidArtifactData, match=f"field '{field}'") as raised:
        validate_bare_data(category, data)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("category", "field", "value"),
    [
        ("debusine:promise", "promise_workflow_id", "10"),
        ("debusine:historical-task-run", "task_type", "Robot"),
        ("debusine:historical-task-run", "result", "ok"),
        ("debian:qa-result", "timestamp", "yesterday"),
        ("debusine:task-configuration", "lock_values", "x"),
    ],
)
def test_bare_wrong_type(category: str, field: str, value: Any) -> None:
    data = {**copy.deepcopy(BARE_EXAMPLES[category]), field: value}
    with pytest.raises(InvalidArtifactData, match=f"field '{field}'"):
        validate_bare_data(category, data)


def test_promise_refuses_unknown_promise_keys() -> None:
    data = {**BARE_EXAMPLES["debusine:promise"], "promise_other": 1}
    with pytest.raises(InvalidArtifactData, match="field 'promise_other'"):
        validate_bare_data("debusine:promise", data)


def test_task_configuration_template() -> None:
    loaded = validate_bare_data("debusine:task-configuration", {"template": "no-tests"})
    assert loaded["use_templates"] == []
    assert loaded["override_values"] == {}
    with pytest.raises(InvalidArtifactData, match="field 'template'"):
        validate_bare_data(
            "debusine:task-configuration",
            {"template": "x", "task_type": "Worker", "task_name": "sbuild"},
        )


def test_unknown_bare_category() -> None:
    with pytest.raises(UnknownCategory):
        validate_bare_data("debian:source-package", {})


# Assets -------------------------------------------------------------------


def test_asset_data() -> None:
    key = {
        "purpose": "openpgp",
        "fingerprint": "ABCD",
        "public_key": "LS0tLS1CRUdJTg==",
        "description": "archive key",
    }
    assert validate_asset_data(AssetCategory.SIGNING_KEY, key) == key
    account = {
        "provider_type": "hetzner",
        "name": "main",
        "configuration": {"region": "fsn1"},
        "credentials": {"api_token": "secret"},
    }
    assert validate_asset_data(AssetCategory.CLOUD_PROVIDER_ACCOUNT, account)
    with pytest.raises(InvalidArtifactData, match="field 'provider_type'"):
        validate_asset_data(
            AssetCategory.CLOUD_PROVIDER_ACCOUNT, {**account, "provider_type": "gcp"}
        )
    with pytest.raises(UnknownCategory):
        validate_asset_data("debusine:nothing", {})


# File rules ---------------------------------------------------------------

DSC_DATA = {
    "dsc_fields": {
        "Files": [
            {"md5sum": "a", "size": "1", "name": "hello_1.0.orig.tar.gz"},
            {"md5sum": "b", "size": "1", "name": "hello_1.0-1.debian.tar.xz"},
        ]
    }
}
SOURCE_FILES = ["hello_1.0-1.dsc", "hello_1.0.orig.tar.gz", "hello_1.0-1.debian.tar.xz"]


@pytest.mark.parametrize(
    ("category", "paths", "data"),
    [
        ("debian:source-package", SOURCE_FILES, DSC_DATA),
        ("debian:source-package", ["x.dsc"], None),
        (
            "debian:upload",
            ["h.changes", "h.dsc", "h.deb"],
            {
                "changes_fields": {
                    "Checksums-Sha256": [
                        {"sha256": "a", "size": "1", "name": "h.dsc"},
                        {"sha256": "a", "size": "1", "name": "h.deb"},
                    ]
                }
            },
        ),
        ("debian:binary-package", ["hello_1_all.deb"], None),
        ("debian:binary-package", ["installer_1_all.udeb"], None),
        ("debian:binary-packages", ["a_1_all.deb", "b_1_all.deb"], None),
        ("debian:package-build-log", ["h.build"], {"filename": "h.build"}),
        ("debian:lintian", ["lintian.txt", "analysis.json"], None),
        ("debian:blhc", ["blhc.txt"], None),
        ("debian:debdiff", ["debdiff.txt"], None),
        ("debian:system-tarball", ["system.tar.xz"], {"filename": "system.tar.xz"}),
        ("debian:repository-index", ["Release"], None),
        ("debusine:work-request-debug-logs", ["cmd-log.txt", "sub/dir.log"], None),
        ("debusine:test", [], None),
        ("mycompany:report", ["a/b/c"], None),
    ],
)
def test_valid_files(category: str, paths: list[str], data: Any) -> None:
    validate_artifact_files(category, paths, data)


@pytest.mark.parametrize(
    ("category", "paths", "data", "message"),
    [
        ("debian:source-package", ["a.tar.gz"], None, r"exactly one \.dsc file, got 0"),
        (
            "debian:source-package",
            ["a.dsc", "b.dsc"],
            None,
            r"exactly one \.dsc file, got 2 \(a\.dsc, b\.dsc\)",
        ),
        (
            "debian:source-package",
            SOURCE_FILES[:2],
            DSC_DATA,
            r"missing file\(s\): hello_1\.0-1\.debian\.tar\.xz",
        ),
        ("debian:upload", ["h.dsc"], None, r"exactly one \.changes file"),
        (
            "debian:upload",
            ["h.changes"],
            {"changes_fields": {"Files": [{"name": "h.deb"}]}},
            r"missing file\(s\): h\.deb",
        ),
        (
            "debian:upload",
            ["h.changes"],
            {"changes_fields": {"Files": "h.deb"}},
            r"changes_fields\.Files must be a list",
        ),
        ("debian:binary-package", [], None, r"exactly one \.deb/\.udeb/\.ddeb"),
        (
            "debian:binary-package",
            ["a.deb", "b.txt"],
            None,
            r"only its \.deb, not b\.txt",
        ),
        ("debian:binary-packages", [], None, r"needs \.deb files"),
        ("debian:binary-packages", ["a.deb", "x.dsc"], None, r"not x\.dsc"),
        ("debian:package-build-log", ["a", "b"], None, "exactly one build log, got 2"),
        (
            "debian:package-build-log",
            ["a.build"],
            {"filename": "b.build"},
            "does not match its filename",
        ),
        ("debian:lintian", ["lintian.txt"], None, r"missing file\(s\): analysis\.json"),
        ("debian:blhc", [], None, r"blhc\.txt"),
        ("debian:debdiff", ["diff"], None, r"debdiff\.txt"),
        ("debian:system-tarball", ["a", "b"], None, "exactly one file, got 2"),
        ("debian:system-image", [], None, "exactly one file, got 0"),
        ("debusine:test", ["../x"], None, r"'\.\.' segment"),
        ("debusine:test", ["/abs"], None, "absolute file path"),
        ("debusine:test", ["a", "a"], None, "lists a file twice"),
    ],
)
def test_invalid_files(
    category: str, paths: list[str], data: Any, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        validate_artifact_files(category, paths, data)
