"""The signed-parameter protocol of the Vietnamese payment gateways (VNPAY 2.1 and those
modelled on it), written once: intake's adapter signs and checks with it, and so does the
sandbox gateway of shared/testing, so both ends speak the same protocol by construction.

Every message is a set of `vnp_*` parameters. The signature `vnp_SecureHash` is the hex
HMAC-SHA512, keyed by the merchant's hash secret, of the parameters other than the
signature itself (`vnp_SecureHash`, `vnp_SecureHashType`) with a non-empty value, sorted
by name and form-urlencoded (`quote_plus`) as `k1=v1&k2=v2`. See docs/PAYMENTS.md.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote_plus, urlencode

from shared.contracts.events import VIETNAM

HASH = "vnp_SecureHash"
_UNSIGNED = frozenset({HASH, "vnp_SecureHashType"})
VERSION = "2.1.0"
# The gateway's answer codes of a transaction (vnp_ResponseCode, vnp_TransactionStatus).
APPROVED = "00"
# The citizen cancelled at the gateway.
CANCELLED = "24"


def signed_data(params: Mapping[str, str]) -> str:
    """The text that is signed: the signed parameters, sorted and form-urlencoded."""
    kept = sorted(
        (k, str(v))
        for k, v in params.items()
        if k.startswith("vnp_") and k not in _UNSIGNED and str(v) != ""
    )
    return urlencode(kept, quote_via=quote_plus)


def signature(secret: str, params: Mapping[str, str]) -> str:
    return hmac.new(secret.encode(), signed_data(params).encode(), hashlib.sha512).hexdigest()


def sign(secret: str, params: Mapping[str, str]) -> dict[str, str]:
    """The parameters with their signature added."""
    return {**{k: str(v) for k, v in params.items()}, HASH: signature(secret, params)}


def verifies(secret: str, params: Mapping[str, str]) -> bool:
    """True when `params` carry the signature of their own values under `secret`."""
    given = str(params.get(HASH, ""))
    return bool(given) and hmac.compare_digest(given.lower(), signature(secret, params))


def gateway_time(moment: datetime) -> str:
    """`yyyyMMddHHmmss` in Vietnam time, the gateway's format of every date."""
    return moment.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def parse_gateway_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)
