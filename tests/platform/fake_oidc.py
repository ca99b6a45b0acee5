"""A tiny OpenID Connect provider on localhost, for the single sign-on tests (real HTTP)."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeProvider:
    """Issues RS256 ID tokens for codes registered with :meth:`grant`."""

    def __init__(self, client_id: str = "shuzhi", client_secret: str = "s3cret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict[str, Any]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def grant(self, code: str, nonce: str, **claims: Any) -> None:
        self.codes[code] = {"nonce": nonce, **claims}

    def id_token(self, claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300} | claims
        head = _b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(body).encode())
        signer = key or self.key
        sig = signer.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{payload}.{_b64(sig)}"

    def _jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        as_b64 = lambda n: _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))  # noqa: E731
        jwk = {"kty": "RSA", "kid": "k1", "alg": "RS256", "n": as_b64(numbers.n),
               "e": as_b64(numbers.e)}  # fmt: skip
        return {"keys": [jwk]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(200, {
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token",
                        "jwks_uri": provider.issuer + "/jwks",
                    })  # fmt: skip
                elif self.path == "/jwks":
                    self._json(200, provider._jwks())
                else:
                    self._json(404, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                claims = provider.codes.pop(form.get("code", ""), None)
                if form.get("client_secret") != provider.client_secret or claims is None:
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(200, {"access_token": "x", "id_token": provider.id_token(claims)})

        return Handler
