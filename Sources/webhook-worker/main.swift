print("webhook-worker")
