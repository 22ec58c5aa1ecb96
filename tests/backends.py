"""Which server plays each backend: the sets of servers the tests run over.

A set names the kind of server behind each role: ``oracle`` (the one plain S3) and
``s3`` and ``lake`` (the backends botwo routes over). ``moto`` is every test's; the mixed
sets prove botwo over real S3 implementations that are not moto, side by side: Ceph's
RADOS gateway (``rgw``) and ``s3rver``. Where the servers differ from S3, S3's documented
behaviour decides which one deviates (docs/compatibility.md).
"""

from __future__ import annotations

SETS: dict[str, dict[str, str]] = {
    "moto": {"oracle": "moto", "s3": "moto", "lake": "moto"},
    "moto+rgw": {"oracle": "rgw", "s3": "moto", "lake": "rgw"},
    "rgw+s3rver": {"oracle": "rgw", "s3": "rgw", "lake": "s3rver"},
}
#: For ``@pytest.mark.parametrize("backend_set", BACKEND_SETS)``: a test over every set.
BACKEND_SETS = tuple(SETS)
