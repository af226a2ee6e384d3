"""A lone surrogate in a text filter is bad input with a clear message, never a 500."""

from http import HTTPStatus

import pytest
from django.http import QueryDict
from django.test import RequestFactory

from activitylog import views
from activitylog.forms import ActivityLogFilterForm

from . import log_entry

pytestmark = pytest.mark.django_db


def request_with(agent, **filters: str):
    """A GET request whose query already holds the values: a surrogate cannot be URL-encoded, so the
    test client cannot send one, but a WSGI server or a caller of the view may hand one over."""
    request = RequestFactory().get("/activity-log/")
    request.GET = QueryDict(mutable=True)
    request.GET.update(filters)
    request.user = agent
    return request


@pytest.mark.parametrize("field", ["customer", "performed_by"])
def test_the_form_refuses_a_lone_surrogate(field):
    form = ActivityLogFilterForm({field: "Mü\ud800ller"})

    assert not form.is_valid()
    assert "unpaired surrogate" in form.errors[field][0]


@pytest.mark.parametrize("field", ["customer", "performed_by"])
def test_the_page_shows_a_form_error_for_a_lone_surrogate(operator, field):
    log_entry()

    response = views.activity_log(request_with(operator, **{field: "\ud800"}))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    page = response.content.decode()
    assert "unpaired surrogate" in page
    assert "Contoso Ltd" not in page


@pytest.mark.parametrize("field", ["customer", "performed_by"])
def test_the_export_refuses_a_lone_surrogate_without_a_file(operator, field):
    log_entry()

    response = views.export(request_with(operator, **{field: "x\ud800"}))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not response.streaming
    assert "Content-Disposition" not in response
    assert "unpaired surrogate" in response.content.decode()


def test_undecodable_bytes_in_the_url_are_replaced_not_a_500(auditor):
    # What a browser can send: the UTF-8 bytes of a surrogate, which Django decodes to U+FFFD.
    response = auditor.get("/activity-log/?customer=%ED%A0%80&performed_by=%ED%A0%80")

    assert response.status_code == HTTPStatus.OK
