{
  "targets": [
    {
      "target_name": "secp256k1_batch",
      "sources": ["secp256k1-batch.c"],
      "libraries": ["-lsecp256k1"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
