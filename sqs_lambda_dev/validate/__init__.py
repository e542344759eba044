"""`sqs-lambda validate`: the SAM template model (:mod:`.template`: parameters, intrinsics, event source
mappings), the doctor's rules (:mod:`.doctor`) and whether the code fits the template (:mod:`.readiness`)."""
