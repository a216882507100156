"""``{% help_text "irn" %}``: a term's plain-language explanation (taxpoynt.help_texts).

Registered as the ``help`` library in the template settings: ``{% load help %}``."""

from django import template

from taxpoynt.help_texts import HELP_TEXTS

register = template.Library()


@register.simple_tag
def help_text(term: str) -> str:
    """Raises ``KeyError`` for a term with no explanation, so a typo fails the page's test."""
    return HELP_TEXTS[term]
