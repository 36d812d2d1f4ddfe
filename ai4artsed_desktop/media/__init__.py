"""Media helpers without Qt: decoding result files for display (waveforms)."""
