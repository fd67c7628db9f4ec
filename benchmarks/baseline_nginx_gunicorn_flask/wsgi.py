"""WSGI entry point for the baseline's gunicorn: the same Flask app the workshop container serves."""
import inference

app = inference.create_app()
