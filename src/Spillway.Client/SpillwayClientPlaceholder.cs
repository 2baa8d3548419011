namespace Spillway.Client;
