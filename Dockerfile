FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir -e . && python manage.py collectstatic --noinput || true
EXPOSE 8000
CMD ["gunicorn", "releasemgr.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
