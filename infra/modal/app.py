"""Modal deployment of the gpu-function container (same image as Cloud Run), scale to zero.

    modal secret create facerecon FACERECON_SIGNING_SECRET=... S3_ENDPOINT=... S3_BUCKET=... \
        S3_ACCESS_KEY_ID=... S3_SECRET_ACCESS_KEY=... [S3_REGION=...] [FACERECON_METRICS_TOKEN=...]
    (S3_REGION: the bucket's region on AWS S3; R2 and GCS take the default, auto)
    modal deploy infra/modal/app.py      # run from the repository root
"""
import os
import subprocess

import modal

# The image has no Python of its own, and Modal's function runner needs one (add_python); Modal's build
# steps after the Dockerfile need root (RUN_AS, see the Dockerfile's runtime stage).
image = modal.Image.from_dockerfile("infra/Dockerfile", context_dir=".", add_python="3.12", build_args={"RUN_AS": "root"})
app = modal.App("facerecon-gpu-function")


@app.function(
    image=image,
    gpu="L4",
    secrets=[modal.Secret.from_name("facerecon")],
    min_containers=0,  # scale to zero
    max_containers=4,
    scaledown_window=300,
    timeout=120,
)
@modal.concurrent(max_inputs=12)  # FACERECON_CONCURRENCY + FACERECON_QUEUE_MAX
@modal.web_server(port=8080, startup_timeout=180)
def gpu_function():
    # CUDA only: a container whose CUDA provider cannot load fails at start instead of serving from the CPU.
    env = {"FACERECON_STORE": "s3", "FACERECON_PROVIDERS": "cuda", "FACERECON_CONCURRENCY": "4", "FACERECON_QUEUE_MAX": "8", "HOST": "0.0.0.0", "PORT": "8080"}
    subprocess.Popen(
        ["node", "--import", "tsx", "src/service/main.ts"],
        cwd="/app/gpu-function",
        env={**os.environ, **env},
    )
