"""SoccerMaster video encoder, pre-training heads, spotting heads, shard loader and trainer."""
