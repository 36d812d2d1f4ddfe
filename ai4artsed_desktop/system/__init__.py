"""Machine facts: GPUs through NVML, RAM/CPU and process trees through psutil."""
