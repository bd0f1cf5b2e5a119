# One image for the four services; the command picks service and role:
#   docker run dvc-portal intake api | consume | relay | all | migrate | replay-parked
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.lock ./
COPY shared ./shared
COPY services ./services
# Runtime dependencies only (no test tools), at the versions pinned in requirements.lock.
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c requirements.lock \
      ./shared ./services/intake ./services/workflow ./services/notify ./services/stats

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --home-dir /app dvc
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER dvc
WORKDIR /app
EXPOSE 8001 8002 8003 8004 9101 9102 9103 9104
ENTRYPOINT ["python", "-m"]
CMD ["intake", "all"]
