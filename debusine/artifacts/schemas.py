"""Data schemas (marshmallow) and file rules of each artifact category.

Every schema of a category whose fields the inventory lists refuses unknown
keys (`RAISE`); the exceptions are `debusine:test` (any data, for tests) and
`debusine:promise` (extra keys allowed, as upstream, but not `promise_*`
ones). Nested free-form dicts (`dsc_fields`, `deb_fields`, `changes_fields`,
`pkglist`, ...) take any JSON value.

Top-level data keys must be valid Python identifiers, whatever the category.

Entry points: `validate_artifact_data`, `validate_bare_data`,
`validate_asset_data` and `validate_artifact_files`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import (
    INCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from debusine.artifacts.categories import (
    ArtifactCategory,
    AssetCategory,
    BareDataCategory,
    is_reserved_category,
)
from debusine.artifacts.paths import InvalidArtifactPath, validate_artifact_path
from debusine.errors import DomainError

CATEGORY_MAX_LENGTH = 255


class InvalidArtifactData(DomainError):
    """Data that does not fit its category; `field` names the wrong key."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownCategory(InvalidArtifactData):
    pass


class InvalidArtifactFiles(DomainError):
    pass


# Field helpers ------------------------------------------------------------


class StrictBoolean(fields.Boolean):
    """A boolean that is a JSON boolean, not "yes" or 1."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _str(**kwargs: Any) -> fields.String:
    kwargs.setdefault("required", True)
    if kwargs["required"] and not kwargs.get("allow_none"):
        kwargs.setdefault("validate", validate.Length(min=1))
    return fields.String(**kwargs)


def _opt_str() -> fields.String:
    return fields.String(required=False, allow_none=True, load_default=None)


def _int(**kwargs: Any) -> fields.Integer:
    kwargs.setdefault("required", True)
    return fields.Integer(strict=True, **kwargs)


def _dict(values: fields.Field | None = None, **kwargs: Any) -> fields.Dict:
    kwargs.setdefault("required", True)
    return fields.Dict(keys=fields.String(), values=values or fields.Raw(), **kwargs)


def _str_list(**kwargs: Any) -> fields.List:
    kwargs.setdefault("required", True)
    return fields.List(fields.String(), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# Artifact categories ------------------------------------------------------


class SourcePackageSchema(StrictSchema):
    name = _str()
    version = _str()
    type = fields.String(required=True, validate=validate.OneOf(["dpkg"]))
    dsc_fields = _dict()


class BinaryPackageSchema(StrictSchema):
    srcpkg_name = _str()
    srcpkg_version = _str()
    deb_fields = _dict()
    deb_control_files = _str_list()


class BinaryPackagesSchema(StrictSchema):
    srcpkg_name = _str()
    srcpkg_version = _str()
    version = _str()
    architecture = _str()
    packages = _str_list()


class UploadSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["dpkg"]))
    changes_fields = _dict()


class PackageBuildLogSchema(StrictSchema):
    source = _str()
    version = _str()
    architecture = _opt_str()
    filename = _str()
    # The dose-distcheck output structure, kept as given.
    bd_uninstallable = _dict(required=False, allow_none=True, load_default=None)


class LintianSummarySchema(StrictSchema):
    tags_count_by_severity = _dict(fields.Integer(strict=True))
    package_filename = _dict(fields.String())
    tags_found = _str_list()
    overridden_tags_found = _str_list()
    lintian_version = _str()
    distribution = _opt_str()


class LintianSchema(StrictSchema):
    architecture = _str()
    summary = fields.Nested(LintianSummarySchema, required=True)


class AutopkgtestResultSchema(StrictSchema):
    status = fields.String(
        required=True, validate=validate.OneOf(["PASS", "FAIL", "FLAKY", "SKIP"])
    )
    details = _opt_str()


class AutopkgtestSourceSchema(StrictSchema):
    name = _str()
    version = _str()
    url = _opt_str()


class AutopkgtestSchema(StrictSchema):
    results = _dict(fields.Nested(AutopkgtestResultSchema))
    cmdline = _str()
    source_package = fields.Nested(AutopkgtestSourceSchema, required=True)
    architecture = _str()
    distribution = _str()


class EmptySchema(StrictSchema):
    pass


class DebdiffSchema(StrictSchema):
    original = _str()
    new = _str()


class SystemTarballSchema(StrictSchema):
    filename = _str()
    vendor = _str()
    codename = _str()
    components = _str_list()
    mirror = _str()
    variant = _opt_str()
    pkglist = _dict(fields.String())
    architecture = _str()
    with_dev = StrictBoolean(required=True)
    with_init = StrictBoolean(required=True)


class SystemImageSchema(SystemTarballSchema):
    image_format = fields.String(
        required=True, validate=validate.OneOf(["raw", "qcow2"])
    )
    filesystem = _str()
    size = _int(validate=validate.Range(min=0))
    boot_mechanism = fields.String(
        required=True, validate=validate.OneOf(["efi", "bios"])
    )


class RepositoryIndexSchema(StrictSchema):
    path = _str()


class SigningInputSchema(StrictSchema):
    trusted_certs = _str_list(required=False, allow_none=True, load_default=None)
    binary_package_name = _opt_str()


class SigningResultSchema(StrictSchema):
    file = _str()
    output_file = _opt_str()
    error_message = _opt_str()

    @validates_schema
    def _one_outcome(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("output_file") is None) == (data.get("error_message") is None):
            raise ValidationError(
                "exactly one of output_file and error_message must be set",
                "output_file",
            )


class SigningOutputSchema(StrictSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(["uefi", "openpgp"]))
    fingerprint = _str()
    results = fields.List(fields.Nested(SigningResultSchema), required=True)
    binary_package_name = _opt_str()


class AnyDataSchema(Schema):
    class Meta:
        unknown = INCLUDE


# Bare-data categories -----------------------------------------------------

TASK_TYPES = ["Worker", "Server", "Internal", "Workflow", "Signing", "Wait"]
RESULTS = ["success", "failure", "error", "skipped"]


class PromiseSchema(Schema):
    class Meta:
        unknown = INCLUDE

    promise_work_request_id = _int()
    promise_workflow_id = _int()
    promise_category = _str()

    @validates_schema(pass_original=True)
    def _no_other_promise_keys(
        self, data: dict[str, Any], original: dict[str, Any], **kwargs: Any
    ) -> None:
        for key in original:
            if key.startswith("promise_") and key not in self.fields:
                raise ValidationError("unknown promise_* field", key)


class HistoricalTaskRunSchema(StrictSchema):
    task_type = fields.String(required=True, validate=validate.OneOf(TASK_TYPES))
    task_name = _str()
    subject = _opt_str()
    context = _opt_str()
    timestamp = _int()
    work_request_id = _int()
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    runtime_statistics = _dict()


class TaskConfigurationSchema(StrictSchema):
    task_type = fields.String(
        required=False,
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(TASK_TYPES),
    )
    task_name = _opt_str()
    subject = _opt_str()
    context = _opt_str()
    template = _opt_str()
    use_templates = _str_list(required=False, load_default=list)
    delete_values = _str_list(required=False, load_default=list)
    default_values = _dict(required=False, load_default=dict)
    override_values = _dict(required=False, load_default=dict)
    lock_values = _str_list(required=False, load_default=list)
    comment = fields.String(required=False, load_default="")

    @validates_schema
    def _template_or_task(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("template") is not None:
            if data.get("task_type") is not None or data.get("task_name") is not None:
                raise ValidationError(
                    "a template entry cannot also name a task", "template"
                )
        else:
            for key in ("task_type", "task_name"):
                if data.get(key) is None:
                    raise ValidationError(
                        "required unless the entry is a template", key
                    )


class QAResultSchema(StrictSchema):
    task_name = _str()
    package = _str()
    version = _str()
    architecture = _str()
    timestamp = _int()
    work_request_id = _int()
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))


# Asset categories ---------------------------------------------------------


class SigningKeySchema(StrictSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(["uefi", "openpgp"]))
    fingerprint = _str()
    public_key = _str()
    description = _opt_str()


class CloudProviderAccountSchema(StrictSchema):
    provider_type = fields.String(
        required=True, validate=validate.OneOf(["aws", "hetzner"])
    )
    name = _str()
    configuration = _dict()
    credentials = _dict()


ARTIFACT_SCHEMAS: dict[str, type[Schema]] = {
    ArtifactCategory.SOURCE_PACKAGE: SourcePackageSchema,
    ArtifactCategory.BINARY_PACKAGE: BinaryPackageSchema,
    ArtifactCategory.BINARY_PACKAGES: BinaryPackagesSchema,
    ArtifactCategory.UPLOAD: UploadSchema,
    ArtifactCategory.PACKAGE_BUILD_LOG: PackageBuildLogSchema,
    ArtifactCategory.LINTIAN: LintianSchema,
    ArtifactCategory.AUTOPKGTEST: AutopkgtestSchema,
    ArtifactCategory.BLHC: EmptySchema,
    ArtifactCategory.DEBDIFF: DebdiffSchema,
    ArtifactCategory.SYSTEM_TARBALL: SystemTarballSchema,
    ArtifactCategory.SYSTEM_IMAGE: SystemImageSchema,
    ArtifactCategory.REPOSITORY_INDEX: RepositoryIndexSchema,
    ArtifactCategory.SIGNING_INPUT: SigningInputSchema,
    ArtifactCategory.SIGNING_OUTPUT: SigningOutputSchema,
    ArtifactCategory.WORK_REQUEST_DEBUG_LOGS: EmptySchema,
    ArtifactCategory.TEST: AnyDataSchema,
}

BARE_DATA_SCHEMAS: dict[str, type[Schema]] = {
    BareDataCategory.PROMISE: PromiseSchema,
    BareDataCategory.HISTORICAL_TASK_RUN: HistoricalTaskRunSchema,
    BareDataCategory.TASK_CONFIGURATION: TaskConfigurationSchema,
    BareDataCategory.PACKAGE_BUILD_LOG: PackageBuildLogSchema,
    BareDataCategory.QA_RESULT: QAResultSchema,
}

ASSET_SCHEMAS: dict[str, type[Schema]] = {
    AssetCategory.SIGNING_KEY: SigningKeySchema,
    AssetCategory.CLOUD_PROVIDER_ACCOUNT: CloudProviderAccountSchema,
}


# Entry points -------------------------------------------------------------


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """The dotted path and text of the first error in marshmallow messages."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        if key == "_schema":
            return _first_error(value, prefix)
        return _first_error(value, f"{prefix}{key}.")
    if isinstance(messages, list) and messages:
        if all(isinstance(m, str) for m in messages):
            return prefix.rstrip("."), " ".join(messages)
        return _first_error(messages[0], prefix)
    return prefix.rstrip("."), str(messages)


def _load(kind: str, category: str, schema: type[Schema], data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidArtifactData(f"{kind} data of {category} must be a JSON object")
    for key in data:
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidArtifactData(
                f"invalid {kind} data for {category}: key {key!r} is not a valid "
                "identifier",
                field=str(key),
            )
    try:
        loaded: dict[str, Any] = schema().load(dict(data))
    except ValidationError as error:
        field, text = _first_error(error.messages)
        where = f"field {field!r}: " if field else ""
        raise InvalidArtifactData(
            f"invalid {kind} data for {category}: {where}{text}", field=field or None
        ) from None
    return loaded


def _check_category_name(category: Any) -> None:
    if not isinstance(category, str) or not category:
        raise UnknownCategory("empty category")
    if len(category) > CATEGORY_MAX_LENGTH or any(
        c.isspace() or ord(c) < 32 for c in category
    ):
        raise UnknownCategory(f"invalid category name {category[:60]!r}")


def validate_artifact_data(category: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` checked against `category`, with defaults filled in.

    Raises InvalidArtifactData (naming the field) or UnknownCategory.
    """
    _check_category_name(category)
    schema = ARTIFACT_SCHEMAS.get(category)
    if schema is None:
        if is_reserved_category(category):
            raise UnknownCategory(f"unknown artifact category {category!r}")
        schema = AnyDataSchema
    return _load("artifact", category, schema, data)


def validate_bare_data(category: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` of a bare-data collection item checked against `category`."""
    _check_category_name(category)
    schema = BARE_DATA_SCHEMAS.get(category)
    if schema is None:
        raise UnknownCategory(f"unknown bare-data category {category!r}")
    return _load("bare", category, schema, data)


def validate_asset_data(category: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` of an asset checked against its `category`."""
    _check_category_name(category)
    schema = ASSET_SCHEMAS.get(category)
    if schema is None:
        raise UnknownCategory(f"unknown asset category {category!r}")
    return _load("asset", category, schema, data)


# File rules ---------------------------------------------------------------

DEB_SUFFIXES = (".deb", ".udeb", ".ddeb")


def _listed_names(fields_: Any, category: str, key: str) -> set[str]:
    """The file names of the Files/Checksums-* entries of a parsed control file."""
    names: set[str] = set()
    for field in ("Files", "Checksums-Sha256"):
        entries = fields_.get(field) if isinstance(fields_, Mapping) else None
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(
            isinstance(e, Mapping) and isinstance(e.get("name"), str) for e in entries
        ):
            raise InvalidArtifactData(
                f"invalid artifact data for {category}: {key}.{field} must be a list "
                "of {{name, ...}} entries",
                field=f"{key}.{field}",
            )
        names.update(e["name"] for e in entries)
    return names


def _exactly_one(category: str, paths: list[str], suffixes: tuple[str, ...]) -> str:
    found = [p for p in paths if p.endswith(suffixes)]
    if len(found) != 1:
        raise InvalidArtifactFiles(
            f"a {category} artifact needs exactly one {'/'.join(suffixes)} file, "
            f"got {len(found)}" + (f" ({', '.join(sorted(found))})" if found else "")
        )
    return found[0]


def _require(category: str, paths: list[str], names: Iterable[str]) -> None:
    missing = sorted(set(names) - set(paths))
    if missing:
        raise InvalidArtifactFiles(
            f"a {category} artifact is missing file(s): {', '.join(missing)}"
        )


def validate_artifact_files(
    category: str, paths: Iterable[str], data: Mapping[str, Any] | None = None
) -> None:
    """Check the file paths of an artifact against its category's file rules.

    Every path must be a valid artifact path. With `data`, the files that the
    data lists (the .dsc's and .changes's Files) must all be present.
    """
    paths = list(paths)
    for path in paths:
        try:
            validate_artifact_path(path)
        except InvalidArtifactPath as error:
            raise InvalidArtifactFiles(str(error)) from None
    if len(set(paths)) != len(paths):
        raise InvalidArtifactFiles(f"a {category} artifact lists a file twice")

    if category == ArtifactCategory.SOURCE_PACKAGE:
        _exactly_one(category, paths, (".dsc",))
        if data is not None:
            listed = _listed_names(data.get("dsc_fields"), category, "dsc_fields")
            _require(category, paths, listed)
    elif category == ArtifactCategory.UPLOAD:
        _exactly_one(category, paths, (".changes",))
        if data is not None:
            listed = _listed_names(
                data.get("changes_fields"), category, "changes_fields"
            )
            _require(category, paths, listed)
    elif category == ArtifactCategory.BINARY_PACKAGE:
        deb = _exactly_one(category, paths, DEB_SUFFIXES)
        if len(paths) != 1:
            others = sorted(p for p in paths if p != deb)
            raise InvalidArtifactFiles(
                f"a {category} artifact holds only its .deb, not {', '.join(others)}"
            )
    elif category == ArtifactCategory.BINARY_PACKAGES:
        if not paths:
            raise InvalidArtifactFiles(f"a {category} artifact needs .deb files")
        others = sorted(p for p in paths if not p.endswith(DEB_SUFFIXES))
        if others:
            raise InvalidArtifactFiles(
                f"a {category} artifact holds only .deb files, not {', '.join(others)}"
            )
    elif category == ArtifactCategory.PACKAGE_BUILD_LOG:
        if len(paths) != 1:
            raise InvalidArtifactFiles(
                f"a {category} artifact holds exactly one build log, got {len(paths)}"
            )
        if data is not None and data.get("filename") not in (None, paths[0]):
            raise InvalidArtifactFiles(
                f"a {category} artifact's file {paths[0]!r} does not match its "
                f"filename {data.get('filename')!r}"
            )
    elif category == ArtifactCategory.LINTIAN:
        _require(category, paths, ("lintian.txt", "analysis.json"))
    elif category == ArtifactCategory.BLHC:
        _require(category, paths, ("blhc.txt",))
    elif category == ArtifactCategory.DEBDIFF:
        _require(category, paths, ("debdiff.txt",))
    elif category in (
        ArtifactCategory.SYSTEM_TARBALL,
        ArtifactCategory.SYSTEM_IMAGE,
        ArtifactCategory.REPOSITORY_INDEX,
    ):
        if len(paths) != 1:
            raise InvalidArtifactFiles(
                f"a {category} artifact holds exactly one file, got {len(paths)}"
            )
        if (
            category == ArtifactCategory.SYSTEM_TARBALL
            and data is not None
            and data.get("filename") not in (None, paths[0])
        ):
            raise InvalidArtifactFiles(
                f"a {category} artifact's file {paths[0]!r} does not match its "
                f"filename {data.get('filename')!r}"
            )
