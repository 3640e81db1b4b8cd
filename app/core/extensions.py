"""Flask extension objects, created here once and bound in create_app."""
from flask_jwt_extended import JWTManager
from flask_mail import Mail

jwt = JWTManager()
mail = Mail()
