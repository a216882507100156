"""The API's filter backend, and the range of dates the API takes. A module of its own: DRF loads
the backend while its generic views are still being defined, so it must import little."""

from datetime import date, datetime

from django import forms
from django_filters import rest_framework as filters
from django_filters import utils as filter_utils
from django_filters.widgets import SuffixedMultiWidget
from rest_framework import exceptions, serializers

# Dates the API takes: a back-fill window or a date filter outside this range is a mistake (a
# year typed as 577), and very old years render with odd historical offsets.
API_YEARS = range(2000, 2101)


def year_range_check(value) -> None:
    """A date or date-time outside API_YEARS is refused."""
    if isinstance(value, date | datetime) and value.year not in API_YEARS:
        raise serializers.ValidationError(
            f"Must be between the years {API_YEARS.start} and {API_YEARS.stop - 1}."
        )


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, stricter: a filter given an empty value is refused unless it
    takes free text, and a boolean filter anything but true or false (django-filter would ignore
    both, so ``?status=`` answered everything), and dates outside API_YEARS are refused."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise filter_utils.translate_validation(filterset.errors)
        problems = {**_empty_value_problems(filterset), **_year_problems(filterset)}
        if problems:
            raise exceptions.ValidationError(problems)
        return filterset.qs


def _parameter_names(name: str, field) -> list[str]:
    if isinstance(field.widget, SuffixedMultiWidget):
        return [f"{name}_{suffix}" for suffix in field.widget.suffixes]
    return [name]


# What a boolean filter takes; django-filter reads anything else as "no filter".
_BOOLEANS = {"true", "false", "True", "False", "1", "0"}


def _empty_value_problems(filterset) -> dict:
    problems = {}
    for name, field in filterset.form.fields.items():
        if type(field) is forms.CharField:
            continue
        for parameter in _parameter_names(name, field):
            values = filterset.data.getlist(parameter)
            if "" in values:
                problems[parameter] = ["Give a value, or leave the filter out."]
            elif isinstance(field, forms.NullBooleanField) and not set(values) <= _BOOLEANS:
                problems[parameter] = ["Must be true or false."]
    return problems


def _year_problems(filterset) -> dict:
    problems = {}
    for name, value in filterset.form.cleaned_data.items():
        values = [value.start, value.stop] if isinstance(value, slice) else [value]
        for each in values:
            try:
                year_range_check(each)
            except serializers.ValidationError as error:
                problems[name] = error.detail
    return problems
