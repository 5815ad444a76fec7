"""The default --parallel: as many sessions as the server's default shell quota (25 per user) fits."""

from __future__ import annotations

from dataclasses import dataclass, field

from pswrap.desired.batch_quota import default_parallel, warn_over_quota


@dataclass
class Target:
    name: str = "t"
    host: str = "sync.contoso.com"
    hosts: dict[str, str] = field(default_factory=dict)

    def host_for(self, need: str) -> str:
        return self.hosts.get(need, self.host)


def test_every_need_on_one_server_gives_six_sessions() -> None:
    assert default_parallel(Target()) == 6  # 6 x 4 shells = 24 of 25


def test_needs_spread_over_hosts_count_the_busiest() -> None:
    two_by_two = Target(hosts={"ad": "dc1.contoso.com", "adsync": "dc1.contoso.com"})
    assert default_parallel(two_by_two) == 12  # 2 shells per session on each host
    one_apart = Target(hosts={"ad": "dc1.contoso.com"})
    assert default_parallel(one_apart) == 8  # 3 shells per session on the sync server


def test_an_unknown_layout_assumes_one_server() -> None:
    assert default_parallel(None) == 6


def test_more_than_the_quota_fits_warns_once_naming_the_quota() -> None:
    target = Target(name="warn-once")
    assert warn_over_quota(6, target) is None
    text = warn_over_quota(7, target)
    assert text is not None and "28 shells on sync.contoso.com" in text and "MaxShellsPerUser" in text
    assert "Set-Item WSMan:" in text
