"""profile/decorators.py: the JSON endpoints' method check and HEAD's ETag."""

import json

from django.http import HttpResponse
from django.test import RequestFactory

from profile.decorators import json_endpoint


@json_endpoint()
def empty(request):
    return HttpResponse(b"", content_type="application/json")


def test_a_head_of_an_empty_answer_has_no_etag_and_is_no_error():
    response = empty(RequestFactory().head("/api/empty", HTTP_IF_NONE_MATCH='"x"'))

    assert response.status_code == 200
    assert not response.has_header("ETag")


def test_other_methods_are_refused_with_405_as_json():
    response = empty(RequestFactory().delete("/api/empty"))

    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert json.loads(response.content)["error"]["code"] == "method_not_allowed"
