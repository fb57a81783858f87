"""What the Mini App's API answers, as JSON: a service, its form's fields, an order, the
whole catalog (made once per catalog and language), and the digest of a service's terms."""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import Any

from bot.catalog import CatalogSnapshot
from bot.formatting import money
from bot.order_form import service_terms
from bot.params import FieldKind, FieldSpec, amount_range
from bot.smmlaba import Service
from handlers import texts
from handlers.keyboards import unit_price
from storage.orders import Order
from webapp import page_texts


def terms_digest(service: Service) -> str:
    """What the form was shown, short: the order is refused if the service changed since."""
    return hashlib.sha256(service_terms(service).encode()).hexdigest()[:32]


def service_json(service: Service, locale: str, currency: str) -> dict[str, Any]:
    unit = unit_price(service)
    limits = amount_range(service)
    return {
        "id": service.id,
        "name": service.name,
        "unit": None if unit is None else unit.text(currency),
        "per_1000": None if unit is None or not unit.by_count else format(unit.amount, "f"),
        "min": None if limits is None else limits[0],
        "max": None if limits is None else limits[1],
    }


def field_json(spec: FieldSpec) -> dict[str, Any]:
    return {
        "param": spec.param,
        "label": spec.label,
        "required": spec.required,
        "kind": spec.kind.value,
        # The panel's own words, where the bot has no better: a link shows an example instead.
        "rule": "" if spec.kind is FieldKind.FRAGMENTS else spec.rule,
        "example": spec.example if spec.kind is FieldKind.FRAGMENTS else None,
        "choices": list(spec.choices),
        "low": spec.low,
        "high": spec.high,
        "multiline": spec.multiline,
        "presets": list(spec.presets),
    }


class CatalogBodies:
    """The catalog's answer, made once per catalog and language and kept while the catalog
    lives (catalogs are shared by accounts and dropped when no longer used)."""

    def __init__(self) -> None:
        self._made: weakref.WeakKeyDictionary[CatalogSnapshot, dict[tuple[str, str], bytes]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, snapshot: CatalogSnapshot, locale: str, currency: str) -> bytes:
        made = self._made.setdefault(snapshot, {})
        body = made.get((locale, currency))
        if body is None:
            body = made[locale, currency] = catalog_json(snapshot, locale, currency)
        return body


def catalog_json(snapshot: CatalogSnapshot, locale: str, currency: str) -> bytes:
    """The whole catalog for the page: platforms, their categories, every service."""
    services = []
    platforms = []
    for p, platform in enumerate(snapshot.platforms):
        categories = []
        for c, category in enumerate(platform.categories):
            categories.append({"name": category.name, "count": len(category.services)})
            for service in category.services:
                services.append({**service_json(service, locale, currency), "p": p, "c": c})
        platforms.append({"name": platform.name, "categories": categories})
    body = {
        "locale": locale,
        "texts": page_texts.texts(),
        "platforms": platforms,
        "services": services,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def order_json(order: Order, locale: str, currency: str) -> dict[str, Any]:
    return {
        "id": order.id,
        "panel_id": order.panel_order_id,
        "service": order.service_name,
        "state": order.state.value,
        "state_text": texts.state_name(order.state),
        "progress": texts.progress(order),
        "total": None if order.total is None else money(order.total, currency, locale=locale),
        "created_at": order.created_at,
        "final": order.state.is_final,
    }
