"""The sandboxes' traffic, by platform: each sandbox app registers its ``TrafficPlatform`` in its
``AppConfig.ready``, and ``manage.py sandbox_traffic --platform P`` finds it here."""

from sandboxes.kit.traffic import TrafficPlatform

_traffic: dict[str, type[TrafficPlatform]] = {}


def traffic_register(platform: type[TrafficPlatform]) -> None:
    _traffic[platform.key] = platform


def traffic_platforms() -> dict[str, type[TrafficPlatform]]:
    return dict(sorted(_traffic.items()))
