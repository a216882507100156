"""Shared plumbing of the in-project sandboxes that play external APIs."""

from django.views.decorators.csrf import csrf_exempt


def method_dispatch(*, not_found, **handlers):
    """One path, a view per HTTP method; other methods get the API's own ``not_found`` answer."""

    @csrf_exempt
    def view(request, **kwargs):
        handler = handlers.get(request.method)
        if handler is None:
            return not_found(request)
        return handler(request, **kwargs)

    return view
