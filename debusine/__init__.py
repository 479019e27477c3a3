"""debusine: build, test, sign and publish Debian packages on a network of workers."""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request
    from pyramid.router import Router

__version__ = "0.1.0"

# Pyramid 2.1 and PasteDeploy still import pkg_resources, which warns on
# every start of every command; the warning is not ours to act on.
warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
warnings.filterwarnings(
    "ignore", "Deprecated call to `pkg_resources", DeprecationWarning
)


# A file upload chunk is not retried: a retry would make pyramid_retry copy
# every 50 MiB body to a seekable temporary file first, and the upload
# protocol already lets the client resume where the server stopped.
_UPLOAD_PATH = re.compile(r"^/api/1\.0/artifact/\d+/files/")


def retry_attempts(request: Request) -> int | None:
    """pyramid_retry's activate hook: how often this request may be tried."""
    if request.method == "PUT" and _UPLOAD_PATH.match(request.path_info):
        return 1
    return None


def configure(settings: dict[str, Any]) -> Configurator:
    """The configured application, before it is made into a WSGI app.

    The include order matters: transaction handling (pyramid_retry, then
    pyramid_tm) comes before the database, so that `request.db` joins the
    request's transaction; the domain comes before the views that use it.
    Pyramid is imported here, not at module level, so that the `debusine`
    client and the workers can import this package without the server stack.
    """
    from pyramid.config import Configurator

    from debusine.config import apply_environment

    settings = apply_environment(settings)
    settings.setdefault("retry.activate_hook", retry_attempts)
    config = Configurator(settings=settings)
    config.include("pyramid_jinja2")
    config.add_jinja2_renderer(".jinja2")
    config.add_jinja2_search_path("debusine:templates", name=".jinja2")
    config.include("pyramid_retry")
    config.include("pyramid_tm")
    config.include(".db")
    config.include(".security")
    config.include(".context")
    config.include(".routes")
    config.add_static_view("static", "debusine:static", cache_max_age=3600)
    config.scan(".views")
    return config


def main(global_config: dict[str, Any], **settings: Any) -> Router:
    """The WSGI application factory named in the ini files."""
    settings.setdefault("retry.attempts", "3")
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    return configure(settings).make_wsgi_app()
