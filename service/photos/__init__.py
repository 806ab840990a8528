"""Photos of C.Hasil pages: intake from officers' phones, durable storage, the OCR queue and worker."""
