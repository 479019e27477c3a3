"""Every URL of the application, in one place."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_route("home", "/")
    config.add_route("api.whoami", "/api/1.0/whoami/")
    config.add_route("api.openapi", "/api/openapi.json")
    # Workspaces
    config.add_route("api.workspaces", "/api/1.0/workspace/")
    config.add_route("api.workspace", "/api/1.0/workspace/{workspace}/")
    config.add_route(
        "api.workspace.inheritance", "/api/1.0/workspace/{workspace}/inheritance/"
    )
    # Artifacts, their files and relations (client-protocol.md routes 12-16)
    config.add_route("api.artifacts", "/api/1.0/artifact/")
    config.add_route("api.artifact", r"/api/1.0/artifact/{artifact_id:\d+}/")
    config.add_route("api.artifact.noslash", r"/api/1.0/artifact/{artifact_id:\d+}")
    # Greedy: `/` in artifact paths is not escaped; the view strips the final `/`.
    config.add_route(
        "api.artifact.upload", r"/api/1.0/artifact/{artifact_id:\d+}/files/{path:.+}"
    )
    config.add_route("api.relations", "/api/1.0/artifact-relation/")
    config.add_route("api.relation", r"/api/1.0/artifact-relation/{relation_id:\d+}/")
    config.add_route(
        "artifact.download",
        r"/{scope}/{workspace}/artifact/{artifact_id:\d+}/download/{path:.*}",
    )
    # Collections and lookups (our additions to the client protocol)
    config.add_route("api.collections", "/api/1.0/collection/")
    config.add_route("api.collection", r"/api/1.0/collection/{collection_id:\d+}/")
    config.add_route(
        "api.collection.items", r"/api/1.0/collection/{collection_id:\d+}/items/"
    )
    config.add_route("api.lookup.single", "/api/1.0/lookup/single/")
    config.add_route("api.lookup.multiple", "/api/1.0/lookup/multiple/")
    # Work requests (client-protocol.md routes 1-6 and 9) and metrics
    config.add_route("api.work_requests", "/api/1.0/work-request/")
    config.add_route(
        "api.work_request", r"/api/1.0/work-request/{work_request_id:\d+}/"
    )
    for action in ("retry", "abort", "unblock"):
        config.add_route(
            f"api.work_request.{action}",
            rf"/api/1.0/work-request/{{work_request_id:\d+}}/{action}/",
        )
    # Wait tasks: a signature provided by the user (route 7), a confirmation
    config.add_route(
        "api.work_request.external_debsign",
        r"/api/1.0/work-request/{work_request_id:\d+}/external-debsign/",
    )
    config.add_route(
        "api.work_request.confirm",
        r"/api/1.0/work-request/{work_request_id:\d+}/confirm/",
    )
    # Workflow templates and workflows (client-protocol.md routes 10 and 11)
    config.add_route("api.workflow_templates", "/api/1.0/workflow-template/")
    config.add_route("api.workflows", "/api/1.0/workflow/")
    config.add_route("api.open_metrics", "/api/1.0/open-metrics/")
    # Live logs of a work request (our addition to the client protocol)
    config.add_route(
        "api.work_request.log", r"/api/1.0/work-request/{work_request_id:\d+}/log/"
    )
