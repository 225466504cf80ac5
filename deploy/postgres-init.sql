-- Run once by the postgres image on an empty volume: the tracker store's own database.
CREATE DATABASE rasa OWNER supportbot;
