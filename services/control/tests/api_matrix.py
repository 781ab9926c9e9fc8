"""One CRUD + role + tenancy test matrix for every org-owned REST resource (NetBox's
``utilities/testing/api.py`` habit: one mixin, many endpoints, no copy-paste).

Use it by subclassing :class:`APIMatrix` in an area's ``test_api.py``::

    from services.control.tests.api_matrix import APIMatrix

    class TestCameraAPI(APIMatrix):
        url = "/api/v1/cameras/"
        model = Camera
        create_data = {"name": "gate", "rtsp_url": "rtsp://cam/1"}
        update_data = {"name": "gate 2"}
        roles = {"create": Role.OPERATOR, "update": Role.OPERATOR, "destroy": Role.ADMIN}

        def make_object(self, org): return Camera.objects.create(org=org, ...)

It relies on the fixtures of ``services/control/tests/conftest.py`` (``org``, ``other_org``,
``make_user``, ``api``, ``viewer``, ``outsider``). Every test proves two things: what is allowed
works, and what is refused answers the right status and changes nothing in the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.db.models import Model
from django.forms.models import model_to_dict

from vigia.control.core.choices import Role, role_at_least

ROLES = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
_names = itertools.count(1)


def unique_name(prefix: str = "obj") -> str:
    return f"{prefix}-{next(_names)}"


def snapshot(obj: Model) -> dict[str, Any]:
    """The row as stored now (re-read from the database)."""
    fresh = type(obj).objects.get(pk=obj.pk)
    return {**model_to_dict(fresh), "updated_at": getattr(fresh, "updated_at", None)}


class APIMatrix:
    """The shared matrix. Subclasses set the class attributes and :meth:`make_object`."""

    url: ClassVar[str]
    model: ClassVar[type[Model]]
    create_data: ClassVar[dict[str, Any]]
    update_data: ClassVar[dict[str, Any]]
    roles: ClassVar[dict[str, str]] = {
        "create": Role.OPERATOR,
        "update": Role.OPERATOR,
        "destroy": Role.OPERATOR,
    }
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def make_object(self, org: Any) -> Model:
        raise NotImplementedError

    def detail_url(self, obj: Model) -> str:
        return f"{self.url}{obj.pk}/"

    def body_for_create(self) -> dict[str, Any]:
        """A valid create body; a unique name each time so repeated creates never collide."""
        body = dict(self.create_data)
        if "name" in body:
            body["name"] = unique_name(str(body["name"]))
        return body

    # --- reading ---------------------------------------------------------------------------

    def test_list_shows_only_the_callers_org(
        self, api: Callable[..., Any], viewer: Any, org: Any, other_org: Any
    ) -> None:
        mine = self.make_object(org)
        theirs = self.make_object(other_org)
        response = api(viewer).get(self.url)
        assert response.status_code == 200, response.content
        ids = {item["id"] for item in response.json()["results"]}
        assert str(mine.pk) in ids
        assert str(theirs.pk) not in ids

    def test_viewer_reads_an_object_of_their_org(
        self, api: Callable[..., Any], viewer: Any, org: Any
    ) -> None:
        obj = self.make_object(org)
        response = api(viewer).get(self.detail_url(obj))
        assert response.status_code == 200, response.content
        assert response.json()["id"] == str(obj.pk)
        for field in self.secret_fields:
            assert field not in response.json()

    def test_anonymous_caller_gets_401(self, api: Callable[..., Any], org: Any) -> None:
        obj = self.make_object(org)
        assert api().get(self.url).status_code == 401
        assert api().get(self.detail_url(obj)).status_code == 401

    def test_unknown_id_answers_404_with_the_error_shape(self, api: Callable[..., Any], viewer: Any) -> None:
        response = api(viewer).get(f"{self.url}00000000-0000-7000-8000-000000000000/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    # --- tenancy -----------------------------------------------------------------------------

    def test_outsider_gets_404_and_changes_nothing(
        self, api: Callable[..., Any], outsider: Any, org: Any
    ) -> None:
        obj = self.make_object(org)
        before = snapshot(obj)
        client = api(outsider)  # an admin, but of another organization
        assert client.get(self.detail_url(obj)).status_code == 404
        assert client.patch(self.detail_url(obj), self.update_data, format="json").status_code == 404
        assert client.delete(self.detail_url(obj)).status_code == 404
        assert snapshot(obj) == before

    def test_created_object_belongs_to_the_callers_org_whatever_the_body_says(
        self, api: Callable[..., Any], make_user: Callable[..., Any], org: Any, other_org: Any
    ) -> None:
        user = make_user(role=Role.ADMIN)
        body = {**self.body_for_create(), "org": str(other_org.pk)}
        response = api(user).post(self.url, body, format="json")
        assert response.status_code == 400  # "org" is not a field: refused, not obeyed
        assert "org" in response.json()["error"]["fields"]
        response = api(user).post(self.url, self.body_for_create(), format="json")
        assert response.status_code == 201, response.content
        assert self.model.objects.get(pk=response.json()["id"]).org_id == org.pk

    # --- roles -------------------------------------------------------------------------------

    @pytest.mark.parametrize("role", ROLES)
    def test_create_is_allowed_from_the_required_role_up(
        self, api: Callable[..., Any], make_user: Callable[..., Any], role: str
    ) -> None:
        count = self.model.objects.count()
        response = api(make_user(role=role)).post(self.url, self.body_for_create(), format="json")
        if role_at_least(role, self.roles["create"]):
            assert response.status_code == 201, response.content
            assert self.model.objects.count() == count + 1
            for field in self.secret_fields:
                assert field not in response.json()
        else:
            assert response.status_code == 403, response.content
            assert response.json()["error"]["code"] == "permission_denied"
            assert self.model.objects.count() == count

    @pytest.mark.parametrize("role", ROLES)
    def test_update_is_allowed_from_the_required_role_up(
        self, api: Callable[..., Any], make_user: Callable[..., Any], org: Any, role: str
    ) -> None:
        obj = self.make_object(org)
        before = snapshot(obj)
        response = api(make_user(role=role)).patch(self.detail_url(obj), self.update_data, format="json")
        if role_at_least(role, self.roles["update"]):
            assert response.status_code == 200, response.content
            after = snapshot(obj)
            for key, value in self.update_data.items():
                if key in after:
                    assert after[key] == value
            if "version" in before:
                assert after["version"] == before["version"] + 1
        else:
            assert response.status_code == 403, response.content
            assert snapshot(obj) == before

    @pytest.mark.parametrize("role", ROLES)
    def test_delete_is_allowed_from_the_required_role_up(
        self, api: Callable[..., Any], make_user: Callable[..., Any], org: Any, role: str
    ) -> None:
        obj = self.make_object(org)
        response = api(make_user(role=role)).delete(self.detail_url(obj))
        if role_at_least(role, self.roles["destroy"]):
            assert response.status_code == 204, response.content
            assert not self.model.objects.filter(pk=obj.pk).exists()
        else:
            assert response.status_code == 403, response.content
            assert self.model.objects.filter(pk=obj.pk).exists()

    # --- bad input ---------------------------------------------------------------------------

    def test_unknown_field_is_refused_naming_it(
        self, api: Callable[..., Any], make_user: Callable[..., Any]
    ) -> None:
        count = self.model.objects.count()
        body = {**self.body_for_create(), "no_such_field": 1}
        response = api(make_user(role=Role.ADMIN)).post(self.url, body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["no_such_field"] == ["unknown field"]
        assert self.model.objects.count() == count

    def test_malformed_json_answers_400(self, api: Callable[..., Any], make_user: Callable[..., Any]) -> None:
        response = api(make_user(role=Role.ADMIN)).post(
            self.url, data=b"{not json", content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "malformed"
