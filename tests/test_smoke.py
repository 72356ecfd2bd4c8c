from tests.conftest import auth_header, register


def test_registered_user_can_fetch_itself(client):
    user = register(client)
    response = client.get("/api/user", headers=auth_header(user["token"]))
    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "alice"
