"""Personal data: detection, reversible masking for model calls, display masking.

Use :func:`mask` / :class:`Masker` before text crosses the trust boundary and
:meth:`Vault.unmask` on the way back; use :func:`mask_for_display` for pages and logs.
"""

from shuzhi.privacy.masking import (
    Masker,
    Vault,
    count_pii,
    default_masker,
    detect,
    display_form,
    mask,
    mask_for_display,
)
from shuzhi.privacy.spans import LABELS, PiiKind, PiiSpan

__all__ = [
    "LABELS",
    "Masker",
    "PiiKind",
    "PiiSpan",
    "Vault",
    "count_pii",
    "default_masker",
    "detect",
    "display_form",
    "mask",
    "mask_for_display",
]
